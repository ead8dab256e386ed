// The information-gathering visit in a real browser: a healthcare assistant records a visit for a
// person with diabetes and COPD from one merged form (blood pressure asked once), bad values are
// explained field by field and nothing is saved, an urgent blood pressure is named before the
// person leaves, and a positive PHQ-9 item 9 stops the visit with crisis signposting.
// axe-core runs on every page.

import assert from 'node:assert/strict'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { checkPage, launchBrowser, signIn, signOut, startServer, visit } from '../lib.mjs'

describe('the information-gathering visit', () => {
  let server
  let browser
  let page
  let fixtures

  before(async () => {
    fixtures = await mkdtemp(path.join(tmpdir(), 'concord-visit-fixture-'))
    await writeFile(path.join(fixtures, 'patients.csv'),
      'record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from\n' +
      'V1,9434765870,Wilfred,Ashdown,1952-07-14,male,F00001,2000-01-01\n' +
      'V2,9434765889,Maud,Pennyworth,1949-01-20,female,F00001,2000-01-01\n')
    await writeFile(path.join(fixtures, 'conditions.csv'),
      'record_id,nhs_number,code,term,onset_date,status\n' +
      'V1-DM,9434765870,44054006,Type 2 diabetes mellitus,2011-05-01,active\n' +
      'V1-COPD,9434765870,13645005,Chronic obstructive lung disease,2015-09-01,active\n' +
      'V2-DM,9434765889,44054006,Type 2 diabetes mellitus,2009-02-01,active\n')
    server = await startServer({ extracts: [fixtures] })
    browser = await launchBrowser()
    page = await browser.newPage()
    await signIn(page, server.url, 'hca')
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    if (fixtures) await rm(fixtures, { recursive: true, force: true })
  })

  const openRecord = async (nhsNumber) => {
    await visit(page, server.url, '/patients')
    await page.getByLabel('NHS number', { exact: true }).fill(nhsNumber)
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await Promise.all([page.waitForURL(/\/patients\/record\//), page.locator('table tbody tr a').first().click()])
    await checkPage(page, 'patient summary')
  }

  const openVisit = async (nhsNumber) => {
    await visit(page, server.url, '/patients')
    await page.getByLabel('NHS number', { exact: true }).fill(nhsNumber)
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await Promise.all([page.waitForURL(/\/patients\/record\//), page.locator('table tbody tr a').first().click()])
    await checkPage(page, 'patient summary')
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('link', { name: 'Record the information-gathering visit' }).click()])
    await checkPage(page, 'visit form')
  }

  test('one merged form for diabetes and COPD; bad values explained; an urgent blood pressure named', async () => {
    await openVisit('9434765870')
    const headings = await page.locator('main h2').allInnerTexts()
    const named = (text) => headings.filter((heading) => heading.startsWith(text)).length
    assert.equal(named('Blood pressure'), 1, `blood pressure once: ${headings.join(' | ')}`)
    for (const item of ['HbA1c', 'Foot check', 'MRC breathlessness grade', 'Inhaler technique', 'Diabetic eye screening', 'Mood questions']) {
      assert.equal(named(item), 1, `${item} on the form: ${headings.join(' | ')}`)
    }
    assert.match(await page.locator('main').innerText(), /Done by the diabetic eye screening service/)

    await page.getByLabel('Systolic blood pressure').fill('400')
    await page.getByLabel('Diastolic blood pressure').fill('96')
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('button', { name: 'Save the visit' }).click()])
    await checkPage(page, 'visit with a bad value')
    assert.match(await page.title(), /^Error: /)
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Systolic blood pressure must be between 50 and 300/)
    await page.locator('.nhsuk-error-summary a').first().click()
    assert.equal(await page.evaluate(() => document.activeElement.id), 'field-systolic-bp')
    assert.equal(await page.getByLabel('Diastolic blood pressure').inputValue(), '96', 'what was typed is kept')

    await page.getByLabel('Systolic blood pressure').fill('184')
    await page.getByLabel('Weight').fill('92.4')
    await page.getByLabel('Height').fill('176')
    await page.getByRole('group', { name: 'Smoking status' }).getByLabel('Ex-smoker').check()
    await page.getByRole('group', { name: 'MRC breathlessness grade' }).getByLabel(/^3:/).check()
    await page.getByRole('group', { name: 'Foot check: risk classification' }).getByLabel('Low risk').check()
    await page.getByLabel('Inhaler technique checked').check()
    await page.locator('#field-sample-hba1c').check()
    await page.getByRole('group', { name: 'Little interest or pleasure in doing things' }).getByLabel('Not at all').check()
    await page.getByRole('group', { name: 'Feeling down, depressed, or hopeless' }).getByLabel('Several days').check()
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('button', { name: 'Save the visit' }).click()])
    await checkPage(page, 'visit saved')
    assert.match(await page.locator('main').innerText(), /Sent to the laboratory\s+HbA1c/, 'the sample sent is listed')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /results? recorded/)
    const urgent = await page.locator('.nhsuk-card--warning').innerText()
    assert.match(urgent, /184/, 'the urgent blood pressure is named before the person leaves')
    assert.match(await page.locator('main').innerText(), /Stage of this year's review: Tests done/)

    // The summary now shows the visit's blood pressure and BMI.
    await Promise.all([page.waitForURL(/\/patients\/record\/[^/]+$/), page.getByRole('link', { name: 'Back to the patient summary' }).click()])
    await checkPage(page, 'summary after the visit')
    const summary = await page.locator('main').innerText()
    assert.match(summary, /184/)
    assert.match(summary, /29\.8/, 'BMI from 92.4 kg and 176 cm')
  })

  test('a positive PHQ-2 asks for the PHQ-9, and item 9 stops the visit with crisis signposting', async () => {
    await openVisit('9434765889')
    await page.getByRole('group', { name: 'Little interest or pleasure in doing things' }).getByLabel('More than half the days').check()
    await page.getByRole('group', { name: 'Feeling down, depressed, or hopeless' }).getByLabel('Several days').check()
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('button', { name: 'Save the visit' }).click()])
    await checkPage(page, 'PHQ-2 of 3 without the PHQ-9')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /score 3 \(3 or more\): ask the remaining PHQ-9 questions/)

    const questions = [
      'Trouble falling or staying asleep, or sleeping too much',
      'Feeling tired or having little energy',
      'Poor appetite or overeating',
      'Feeling bad about yourself, or that you are a failure or have let yourself or your family down',
      'Trouble concentrating on things, such as reading the newspaper or watching television'
    ]
    for (const question of questions) {
      await page.getByRole('group', { name: question }).getByLabel('Several days').check()
    }
    await page.getByRole('group', { name: /^Moving or speaking so slowly/ }).getByLabel('Not at all').check()
    await page.getByRole('group', { name: 'Thoughts that you would be better off dead, or of hurting yourself in some way' }).getByLabel('Several days').check()
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('button', { name: 'Save the visit' }).click()])
    await checkPage(page, 'visit stopped')
    assert.match(await page.title(), /^Stop: same-day assessment needed/)
    const stop = await page.locator('main').innerText()
    assert.match(stop, /Do not let them leave until the duty clinician has assessed them today/)
    assert.match(stop, /999/)
    assert.match(stop, /Samaritans 116 123/)
    assert.match(stop, /PHQ-9 item 9/i, 'the urgent flag is named')
  })

  test('a nurse reviews the results: comment, assignment and a personal target, once urgent flags are actioned', async () => {
    await signOut(page)
    await signIn(page, server.url, 'nurse')
    // The review queue on the triage page lists the person, with the HbA1c still awaited.
    await visit(page, server.url, '/triage')
    await checkPage(page, 'triage with the review queue')
    const waiting = page.locator('#to-review ~ table tbody tr', { hasText: 'ASHDOWN' })
    assert.match(await waiting.innerText(), /Awaited: HbA1c/)
    await Promise.all([page.waitForURL(/\/review$/), waiting.getByRole('link').click()])
    await checkPage(page, 'review page')
    assert.match(await page.locator('#open-flags + ul').innerText(), /184/, 'the urgent blood pressure is listed')
    assert.match(await page.locator('main').innerText(), /Information-gathering visit on \d+ \w+ \d{4}; 0 results have arrived since/)
    assert.match(await page.locator('#samples + dl').innerText(), /HbA1c\s+Awaited\s+Awaited: sent today/, 'the HbA1c sample is awaited')

    await Promise.all([page.waitForURL(/\/review$/), page.getByRole('button', { name: 'Mark results reviewed' }).click()])
    await checkPage(page, 'review with nothing entered')
    const summary = await page.locator('.nhsuk-error-summary').innerText()
    assert.match(summary, /Write a comment for the person/)
    assert.match(summary, /Choose who will have the care and support planning conversation/)
    assert.match(summary, /HbA1c still awaited from the laboratory/)

    await page.getByLabel('Comment for the person').fill('Your blood pressure was high on the day; we have phoned you about it. Your sugar control is close to where we would like it.')
    await page.getByLabel('Practice nurse').check()
    await page.getByLabel(/^HbA1c target/).fill('58')
    await page.getByLabel('Review now without HbA1c').check()
    await Promise.all([page.waitForURL(/\/review$/), page.getByRole('button', { name: 'Mark results reviewed' }).click()])
    await checkPage(page, 'review refused while an urgent flag is open')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Record an action on the urgent red flag before marking the results reviewed/)
    assert.equal(await page.getByLabel('Comment for the person').inputValue() !== '', true, 'what was typed is kept')

    await visit(page, server.url, '/triage')
    const card = page.locator('.nhsuk-card:not(.nhsuk-card--warning)', { hasText: 'ASHDOWN' })
    await card.getByLabel('Action taken for this flag').first().fill('Phoned: repeat blood pressure tomorrow, no symptoms')
    await Promise.all([page.waitForURL(/\/triage\/action$/), card.getByRole('button', { name: 'Record action' }).first().click()])
    await checkPage(page, 'flag actioned')

    await openRecord('9434765870')
    await Promise.all([page.waitForURL(/\/review$/), page.getByRole('link', { name: 'Review results (professional preparation)' }).click()])
    await page.getByLabel('Comment for the person').fill('Your blood pressure was high on the day; we have phoned you about it.')
    await page.getByLabel('Practice nurse').check()
    await page.getByLabel(/^HbA1c target/).fill('58')
    await page.getByLabel('Review now without HbA1c').check()
    await Promise.all([page.waitForURL(/\/review$/), page.getByRole('button', { name: 'Mark results reviewed' }).click()])
    await checkPage(page, 'results reviewed')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Results reviewed/)
    const main = await page.locator('main').innerText()
    assert.match(main, /Stage of this year's review: Results reviewed\. Reviewed by Demo Nurse/)
    assert.match(main, /Your target: <= 58 mmol\/mol/)
    assert.doesNotMatch(main, /Your target: <= 48/, 'a default is never called "your target"')

    // The worklist finds the people whose conversation is with a practice nurse.
    await visit(page, server.url, '/worklist?assigned=nurse')
    const rows = await page.locator('table tbody tr').allInnerTexts()
    assert.equal(rows.length, 1, rows.join(' | '))
    assert.match(rows[0], /ASHDOWN, Wilfred[^]*Results reviewed/)
  })
})
