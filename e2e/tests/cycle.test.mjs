// The Year of Care worklist and the triage queue in a real browser: a practice administrator
// filters the worklist and invites selected people (a refusal is explained by name); a GP sees an
// urgent potassium at the top of the triage queue and on the home page, is told what is missing
// when recording an empty action, and records one. axe-core runs on every page.

import assert from 'node:assert/strict'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { checkPage, launchBrowser, signIn, signOut, startServer, visit } from '../lib.mjs'

describe('the cycle in the browser', () => {
  let server
  let browser
  let page
  let fixtures

  before(async () => {
    // A person with diabetes whose potassium today is 6.9 mmol/L (urgent: same-day hospital
    // assessment), dated today so the rule's 30-day window includes it.
    fixtures = await mkdtemp(path.join(tmpdir(), 'concord-cycle-fixture-'))
    const today = new Date().toISOString().slice(0, 10)
    await writeFile(path.join(fixtures, 'patients.csv'),
      'record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,email,preferred_channel\n' +
      'URG1,9434765919,Hester,Quartermaine,1950-03-04,female,F00001,2001-01-01,hester@example.test,email\n' +
      'LET1,9434765870,Ada,Lettersworth,1946-08-19,female,F00001,2001-01-01,,letter\n')
    await writeFile(path.join(fixtures, 'conditions.csv'),
      'record_id,nhs_number,code,term,onset_date,status\nURG1-C1,9434765919,44054006,Type 2 diabetes mellitus,2010-01-01,active\n' +
      'LET1-C1,9434765870,44054006,Type 2 diabetes mellitus,2011-01-01,active\n')
    await writeFile(path.join(fixtures, 'observations.csv'),
      'record_id,nhs_number,code_system,code,term,value,unit,effective_at\n' +
      `URG1-K1,9434765919,loinc,2823-3,Potassium,6.9,mmol/L,${today}T08:30Z\n`)
    server = await startServer({ extracts: [fixtures] })
    browser = await launchBrowser()
    page = await browser.newPage()
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    if (fixtures) await rm(fixtures, { recursive: true, force: true })
  })

  test('a practice administrator filters the worklist and invites selected people', async () => {
    await signIn(page, server.url, 'practice-admin')
    await visit(page, server.url, '/worklist')
    const rows = page.locator('table tbody tr')
    assert.ok(await rows.count() > 0, 'people are due')
    assert.ok(!/[?&](nhs|name|patient)/i.test(page.url()))

    await page.getByLabel('Condition').selectOption('diabetes')
    await Promise.all([page.waitForURL(/register=diabetes/), page.getByRole('button', { name: 'Filter' }).click()])
    await checkPage(page, 'worklist filtered by diabetes')
    const conditions = await page.locator('table tbody tr td:nth-child(4)').allInnerTexts()
    assert.ok(conditions.length > 0 && conditions.every((text) => /Diabetes/i.test(text)), conditions.join(' | '))

    // Nothing selected: told so.
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Invite selected people' }).click()])
    await checkPage(page, 'invite with nobody selected')
    assert.match(await page.title(), /^Error: /)
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Select at least one person/)

    await visit(page, server.url, '/worklist?register=diabetes')
    const first = page.locator('table tbody tr').nth(0)
    const second = page.locator('table tbody tr').nth(1)
    const firstName = (await first.locator('td:nth-child(2)').innerText()).replace(/^Name\s*/, '').split('\n')[0].trim()
    await first.getByRole('checkbox').check()
    await second.getByRole('checkbox').check()
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Invite selected people' }).click()])
    await checkPage(page, 'invitations sent')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /2 invitations queued/)

    // Inviting the same person again within two weeks is refused, by name and with the reason.
    await visit(page, server.url, '/worklist?stage=invited')
    const invited = page.locator('table tbody tr', { hasText: firstName })
    assert.match(await invited.innerText(), /1 of 3 invitations sent/)
    await invited.getByRole('checkbox').check()
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Invite selected people' }).click()])
    await checkPage(page, 'invitation refused')
    assert.match(await page.title(), /^Error: /)
    const summary = await page.locator('.nhsuk-error-summary').innerText()
    assert.ok(summary.includes(firstName), summary)
    assert.match(summary, /the next may go from/)

    // Results are clinical: an administrator does not open the triage queue.
    await visit(page, server.url, '/triage', { status: 403 })
    await visit(page, server.url, '/')
    await signOut(page)
  })

  test('a practice administrator creates a clinic list and books a person; the schedule shows them', async () => {
    await signIn(page, server.url, 'practice-admin')
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10)
    await visit(page, server.url, `/clinics?date=${tomorrow}`)
    await page.getByLabel('Information gathering (tests with a healthcare assistant)').check()
    await page.getByLabel("Clinician's role").selectOption('hca')
    await page.getByLabel("Clinician's name").fill('Tomasz Wolny')
    await page.getByLabel('Date', { exact: true }).fill(tomorrow)
    await page.getByLabel('First appointment').fill('9am')
    await page.getByLabel('Last appointment').fill('10:00')
    await Promise.all([page.waitForURL(/\/clinics$/), page.getByRole('button', { name: 'Create clinic list' }).click()])
    await checkPage(page, 'clinic with a bad time')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Enter the first appointment time as HH:MM/)
    assert.equal(await page.getByLabel("Clinician's name").inputValue(), 'Tomasz Wolny', 'what was typed is kept')

    await page.getByLabel('First appointment').fill('09:00')
    await Promise.all([page.waitForURL(/\/clinics$/), page.getByRole('button', { name: 'Create clinic list' }).click()])
    await checkPage(page, 'clinic created')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /4 appointments created/)
    assert.equal(await page.locator('table tbody tr', { hasText: 'Tomasz Wolny' }).count(), 4)

    // Book the first person due on the worklist.
    await visit(page, server.url, '/worklist?stage=due')
    const person = page.locator('table tbody tr').first()
    const name = (await person.locator('td:nth-child(2)').innerText()).replace(/^Name\s*/, '').split('\n')[0].trim()
    assert.equal(await person.locator('td:nth-child(2) a').count(), 0, 'an administrator does not open records')
    await Promise.all([page.waitForURL(/\/book$/), person.getByRole('link', { name: /^Book/ }).click()])
    await checkPage(page, 'booking page')
    await Promise.all([page.waitForURL(/\/book$/), page.getByRole('button', { name: 'Book' }).click()])
    await checkPage(page, 'booking with nothing chosen')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Choose an appointment/)
    await page.getByLabel(/at 09:00, Tomasz Wolny/).check()
    await Promise.all([page.waitForURL(/\/book$/), page.getByRole('button', { name: 'Book' }).click()])
    await checkPage(page, 'booked')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Booked: .* at 09:00 with Tomasz Wolny/)
    assert.match(await page.locator('main').innerText(), /Information gathering booked/)
    assert.equal(await page.getByLabel(/at 09:00, Tomasz Wolny/).count(), 0, 'a taken slot is not offered again')

    await visit(page, server.url, `/clinics?date=${tomorrow}`)
    const booked = page.locator('table tbody tr', { hasText: '09:00' }).filter({ hasText: 'Tomasz Wolny' })
    assert.match(await booked.innerText(), /Booked/)
    assert.ok((await booked.innerText()).includes(name), `${name} in the schedule`)
    await signOut(page)
  })

  test('a practice administrator books selected people into the next free appointments', async () => {
    await signIn(page, server.url, 'practice-admin')
    await visit(page, server.url, '/worklist?stage=due')
    const names = []
    for (const index of [0, 1]) {
      const row = page.locator('table tbody tr').nth(index)
      names.push((await row.locator('td:nth-child(2)').innerText()).replace(/^Name\s*/, '').split('\n')[0].trim())
      await row.getByRole('checkbox').check()
    }
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Book selected into the next free appointments' }).click()])
    await checkPage(page, 'bulk booking')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /2 people booked into the next free information-gathering appointments/)
    await visit(page, server.url, '/worklist?stage=information_gathering_booked')
    const booked = await page.locator('table tbody').innerText()
    for (const name of names) assert.ok(booked.includes(name), `${name} is booked`)
    await signOut(page)
  })

  test('a letter invitation waits on the print list, prints with the leaflet, and is marked printed', async () => {
    await signIn(page, server.url, 'practice-admin')
    await visit(page, server.url, '/worklist?register=diabetes')
    let row = page.locator('table tbody tr', { hasText: 'LETTERSWORTH, Ada' })
    while (await row.count() === 0) {
      await Promise.all([page.waitForURL(/page=/), page.getByRole('link', { name: /^Next/ }).click()])
      row = page.locator('table tbody tr', { hasText: 'LETTERSWORTH, Ada' })
    }
    await row.getByRole('checkbox').check()
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Invite selected people' }).click()])
    await checkPage(page, 'letter invitation queued')

    await visit(page, server.url, '/letters')
    const letter = page.locator('table tbody tr', { hasText: 'LETTERSWORTH, Ada' })
    assert.match(await letter.innerText(), /invitation 1[^]*with the two-appointments leaflet/)
    await Promise.all([page.waitForURL(/\/letters\/[0-9a-f-]+$/), letter.getByRole('link').click()])
    await checkPage(page, 'letter to print')
    const text = await page.locator('main').innerText()
    assert.match(text, /Dear Ada/)
    assert.match(text, /Your yearly review: two appointments/)
    await visit(page, server.url, '/letters')
    await page.locator('table tbody tr', { hasText: 'LETTERSWORTH, Ada' }).getByRole('checkbox').check()
    await Promise.all([page.waitForURL(/\/letters$/), page.getByRole('button', { name: 'Mark selected as printed' }).click()])
    await checkPage(page, 'letters printed')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /1 letter marked as printed/)
    assert.equal(await page.locator('table tbody tr', { hasText: 'LETTERSWORTH, Ada' }).count(), 0)
    await signOut(page)
  })

  test('a healthcare assistant sees the queue but cannot record a clinical action', async () => {
    await signIn(page, server.url, 'hca')
    await visit(page, server.url, '/triage')
    assert.match(await page.locator('main').innerText(), /QUARTERMAINE, Hester/)
    assert.equal(await page.getByRole('button', { name: 'Record action' }).count(), 0)
    assert.match(await page.locator('main').innerText(), /A nurse, GP or pharmacist records the action/)
    await signOut(page)
  })

  test('a GP works the triage queue: urgent first, an empty action explained, an action recorded', async () => {
    await signIn(page, server.url, 'gp')
    const callout = page.locator('.nhsuk-card--warning', { hasText: 'Urgent red flags' })
    assert.match(await callout.innerText(), /urgent result/)
    await Promise.all([page.waitForURL(/\/triage$/), callout.getByRole('link', { name: 'Go to the triage queue' }).click()])
    await checkPage(page, 'triage queue')
    assert.match(await page.locator('main').innerText(), /No duty clinician named today/)
    await Promise.all([page.waitForURL(/\/triage\/duty$/), page.getByRole('button', { name: "I am today's duty clinician" }).click()])
    await checkPage(page, 'duty taken')
    assert.match(await page.locator('main').innerText(), /Duty clinician today: Demo GP/)

    const firstCard = page.locator('.nhsuk-card:not(.nhsuk-card--warning)').first()
    assert.match(await firstCard.innerText(), /QUARTERMAINE, Hester/)
    assert.match(await firstCard.innerText(), /Urgent/)
    assert.match(await firstCard.innerText(), /6\.9 mmol\/L/)
    assert.match(await firstCard.innerText(), /Demo GP \(duty clinician\)/, 'the open urgent flag went to the duty clinician')

    await Promise.all([page.waitForURL(/\/triage\/action$/), firstCard.getByRole('button', { name: 'Record action' }).first().click()])
    await checkPage(page, 'empty action')
    assert.match(await page.title(), /^Error: /)
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Describe the action taken/)
    await page.locator('.nhsuk-error-summary a').first().click()
    assert.match(await page.evaluate(() => document.activeElement.id), /^action-/, 'the summary leads to the field')

    const card = page.locator('.nhsuk-card:not(.nhsuk-card--warning)', { hasText: 'QUARTERMAINE' })
    const before = await card.getByRole('button', { name: 'Record action' }).count()
    await card.getByLabel('Action taken for this flag').first().fill('Phoned; same-day bloods and ECG arranged')
    await Promise.all([page.waitForURL(/\/triage\/action$/), card.getByRole('button', { name: 'Record action' }).first().click()])
    await checkPage(page, 'action recorded')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Action recorded/)
    const remaining = await page.locator('.nhsuk-card:not(.nhsuk-card--warning)', { hasText: 'QUARTERMAINE' }).getByRole('button', { name: 'Record action' }).count()
    assert.equal(remaining, before - 1)
    await signOut(page)
  })

  test('a commissioner cannot open the worklist or the triage queue', async () => {
    await signIn(page, server.url, 'commissioner')
    await visit(page, server.url, '/worklist', { status: 403 })
    await visit(page, server.url, '/triage', { status: 403 })
    await visit(page, server.url, '/')
    await signOut(page)
  })
})
