// The whole Year of Care cycle in a real browser, as the staff and the person would walk it: the
// healthcare assistant's visit, the nurse's review, booking the conversation, the preparation
// letter, the person's own agenda online, the care and support planning conversation, the agreed
// plan, and the plan's PDF downloaded by the person; then the person records how a goal is going
// and, after a code sent to the email on their GP record, chooses who can see their plan, which a
// partner's system sees at once. axe-core runs on every page.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { checkPage, launchBrowser, signIn, signOut, smtpSink, startServer, visit } from '../lib.mjs'

const NHS = '9434765919'

describe('the whole cycle', () => {
  let server
  let browser
  let page
  let fixtures
  let sink

  before(async () => {
    sink = await smtpSink()
    fixtures = await mkdtemp(path.join(tmpdir(), 'concord-whole-cycle-'))
    const day = (daysAgo) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)
    await writeFile(path.join(fixtures, 'patients.csv'),
      'record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,preferred_channel,email\n' +
      `W1,${NHS},Hazel,Whitcombe,1951-03-27,female,F00001,2000-01-01,letter,hazel.whitcombe@example.test\n`)
    await writeFile(path.join(fixtures, 'conditions.csv'),
      'record_id,nhs_number,code,term,onset_date,status\n' +
      `W1-DM,${NHS},44054006,Type 2 diabetes mellitus,2010-06-01,active\n`)
    await writeFile(path.join(fixtures, 'observations.csv'),
      'record_id,nhs_number,code_system,code,term,value,unit,effective_at\n' +
      `W1-H1,${NHS},snomed,999791000000106,HbA1c level - IFCC standardised,66,mmol/mol,${day(400)}T09:00Z\n` +
      `W1-H2,${NHS},snomed,999791000000106,HbA1c level - IFCC standardised,61,mmol/mol,${day(15)}T09:00Z\n`)
    server = await startServer({
      extracts: [fixtures],
      env: {
        CONCORD_SMTP_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
        CONCORD_SMTP_FROM: 'Concord <noreply@concord.example>',
        CONCORD_OUTBOX_INTERVAL_SECS: '1'
      }
    })
    browser = await launchBrowser()
    page = await browser.newPage()
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    sink?.close()
    if (fixtures) await rm(fixtures, { recursive: true, force: true })
  })

  const openRecord = async () => {
    await visit(page, server.url, '/patients')
    await page.getByLabel('NHS number', { exact: true }).fill(NHS)
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await Promise.all([page.waitForURL(/\/patients\/record\/[^/]+$/), page.locator('table tbody tr a').first().click()])
    await checkPage(page, 'patient summary')
  }

  const follow = async (link, url, label) => {
    await Promise.all([page.waitForURL(url), page.getByRole('link', { name: link }).click()])
    await checkPage(page, label)
  }

  test('visit, review, letter, agenda, conversation, agreed plan, PDF', async () => {
    // 1. The healthcare assistant's information-gathering visit.
    await signIn(page, server.url, 'hca')
    await openRecord()
    await follow('Record the information-gathering visit', /\/visit$/, 'visit form')
    await page.getByLabel('Systolic blood pressure').fill('136')
    await page.getByLabel('Diastolic blood pressure').fill('82')
    await page.getByLabel('Weight').fill('78')
    await Promise.all([page.waitForURL(/\/visit$/), page.getByRole('button', { name: 'Save the visit' }).click()])
    await checkPage(page, 'visit saved')
    assert.match(await page.locator('main').innerText(), /Stage of this year's review: Tests done/)
    await signOut(page)

    // 2. The nurse reviews the results (professional preparation) and sets a personal target.
    await signIn(page, server.url, 'nurse')
    await visit(page, server.url, '/triage')
    await checkPage(page, 'triage')
    await openRecord()
    await follow('Review results (professional preparation)', /\/review$/, 'review')
    await page.getByLabel('Comment for the person').fill('Your blood sugar has come down since last year. Well done.')
    await page.getByLabel('Practice nurse').check()
    await page.getByLabel(/^HbA1c target/).fill('58')
    await Promise.all([page.waitForURL(/\/review$/), page.getByRole('button', { name: 'Mark results reviewed' }).click()])
    await checkPage(page, 'results reviewed')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Results reviewed/)

    // 3. The conversation is booked (a double appointment with the practice nurse).
    await openRecord()
    await follow('Book an appointment', /\/book$/, 'book the conversation')
    await page.locator('input[name="slot"]').first().check()
    await Promise.all([page.waitForURL(/\/book$/), page.getByRole('button', { name: 'Book' }).click()])
    await checkPage(page, 'conversation booked')

    // 4. The preparation letter, with the person's code in it.
    await openRecord()
    await follow("The person's preparation letter", /\/preparation$/, 'preparation')
    assert.match(await page.locator('.nhsuk-card', { hasText: 'Getting ready for your' }).innerText(), /58 mmol\/mol or below/)
    await Promise.all([page.waitForURL(/\/preparation$/), page.getByRole('button', { name: 'Make and send the preparation letter' }).click()])
    await checkPage(page, 'letter made')
    const letter = await page.request.get(new URL(await page.getByRole('link', { name: /letter made/ }).getAttribute('href'), server.url).href)
    const letterPath = path.join(fixtures, 'letter.pdf')
    await writeFile(letterPath, await letter.body())
    const code = execFileSync('pdftotext', [letterPath, '-']).toString().match(/[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}/)[0]
    await signOut(page)

    // 5. The person writes their agenda online.
    const person = await launchBrowser()
    const own = await person.newPage()
    try {
      await visit(own, server.url, '/prepare')
      await own.getByLabel('Your code').fill(code)
      await own.getByLabel('Day').fill('27')
      await own.getByLabel('Month').fill('3')
      await own.getByLabel('Year').fill('1951')
      await Promise.all([own.waitForURL(/\/prepare\/letter$/), own.getByRole('button', { name: 'Continue' }).click()])
      await checkPage(own, 'the person reads their results')
      await Promise.all([own.waitForURL(/\/prepare\/agenda$/), own.getByRole('button', { name: 'Write what you would like to talk about' }).click()])
      await own.getByLabel('What matters most to you at the moment?').fill('Being well enough to go on holiday with my sister in May')
      await own.getByLabel('What would you like to talk about at your appointment?').fill('My feet are often cold')
      await own.getByRole('button', { name: 'Save your answers' }).click()
      await own.waitForLoadState()
      await checkPage(own, 'agenda saved')
    } finally {
      await person.close()
    }

    // 6. The conversation: the agenda in view; the plan recorded and agreed.
    await signIn(page, server.url, 'nurse')
    await openRecord()
    await follow('Care and support planning conversation', /\/conversation$/, 'conversation screen')
    const screen = await page.locator('main').innerText()
    assert.match(screen, /Being well enough to go on holiday with my sister in May/, 'the person\'s agenda is in view')
    assert.match(screen, /61 mmol\/mol/)
    assert.match(screen, /20 minutes/)

    // Agreeing with nothing filled in is refused, field by field.
    await Promise.all([page.waitForURL(/\/conversation$/), page.getByRole('button', { name: 'Agree the plan with them' }).click()])
    await checkPage(page, 'plan refused')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /at least one goal with an action[\s\S]*review date/)

    await page.getByLabel('What matters to me').fill('Going on holiday with my sister in May')
    await page.locator('#goal-0-words').fill('Feel well enough to travel in May')
    await page.locator('#goal-0-importance').fill('9')
    await page.locator('#action-0-0-what').fill('Walk for 20 minutes')
    await page.locator('#action-0-0-when').fill('After breakfast')
    await page.locator('#action-0-0-how-often').fill('Most days')
    await page.locator('#action-0-0-who-supports').fill('My sister phones to remind me')
    await page.locator('#action-0-0-confidence').fill('7')
    await page.locator('#contingency-0-name').fill('Being ill (sick day rules)')
    await page.locator('#contingency-0-triggers').fill('Being sick or not eating')
    await page.locator('#contingency-0-what-to-do').fill('Keep drinking and stop metformin until eating again; ring the practice')
    await page.locator('#treatment-0').fill('Check foot pulses at the next visit')
    await page.getByLabel('Diabetes education course').check()
    const review = new Date(Date.now() + 180 * 86_400_000).toISOString().slice(0, 10)
    await page.getByLabel('Review date').fill(review)
    await page.getByLabel('Who is responsible for the review').fill('Practice nurse')
    await page.getByLabel('Agreed with').fill('Hazel Whitcombe')
    await Promise.all([page.waitForURL(/\/conversation$/), page.getByRole('button', { name: 'Agree the plan with them' }).click()])
    await checkPage(page, 'plan agreed')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Plan agreed and kept as version 1/)

    await follow('View the plan and download it as PDF', /\/plan$/, 'the plan')
    const planText = await page.locator('.nhsuk-card').first().innerText()
    assert.match(planText, /Feel well enough to travel in May/)
    assert.match(planText, /If things get worse/)
    // A plan from another service, sent to the practice, joins the overarching plan.
    const planUrl = page.url()
    await page.getByRole('button', { name: 'Add to the person\'s plan' }).click()
    await page.locator('.nhsuk-error-summary').waitFor()
    await checkPage(page, 'a linked plan with problems')
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Say which service wrote the plan/)
    await page.getByLabel('Which service wrote it').fill('Riverside Community Physiotherapy')
    await page.getByLabel('What kind of plan it is').selectOption('physiotherapy')
    await page.getByLabel('Title of the plan').fill('Knee exercises')
    await page.getByLabel('What the plan says').fill('Goal: climb the stairs without stopping.\nExercises twice a day.')
    await page.getByRole('button', { name: 'Add to the person\'s plan' }).click()
    await page.locator('.nhsuk-notification-banner--success').waitFor()
    await checkPage(page, 'a linked plan added')
    assert.match(await page.locator('main').innerText(), /Plans from other services[\s\S]*Knee exercises[\s\S]*Physiotherapy self-care plan from Riverside Community Physiotherapy/)
    await visit(page, server.url, new URL(planUrl).pathname)
    await follow('Print view', /\/plan\/print\?version=1$/, 'the plan\'s print view')
    assert.match(await page.locator('main').innerText(), /My care plan[\s\S]*If things get worse/)

    // The treatment agreed waits for a prescriber, who marks it made in the GP system.
    await visit(page, server.url, '/tasks')
    await checkPage(page, 'prescriber tasks')
    const task = page.locator('table tbody tr', { hasText: 'Check foot pulses at the next visit' })
    assert.match(await task.innerText(), /WHITCOMBE, Hazel/)
    await Promise.all([page.waitForURL(/\/tasks$/), task.getByRole('button', { name: /^Done/ }).click()])
    await checkPage(page, 'task done')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Marked as made in the GP system/)
    assert.equal(await page.locator('table tbody tr', { hasText: 'Check foot pulses' }).count(), 0)
    await signOut(page)

    // 7. The person downloads their plan.
    const again = await launchBrowser()
    try {
      const own2 = await again.newPage()
      await visit(own2, server.url, '/prepare')
      await own2.getByLabel('Your code').fill(code)
      await own2.getByLabel('Day').fill('27')
      await own2.getByLabel('Month').fill('3')
      await own2.getByLabel('Year').fill('1951')
      await Promise.all([own2.waitForURL(/\/prepare\/letter$/), own2.getByRole('button', { name: 'Continue' }).click()])
      await Promise.all([own2.waitForURL(/\/prepare\/plan$/), own2.getByRole('link', { name: 'Your care and support plan', exact: true }).click()])
      await checkPage(own2, 'the person\'s plan online')
      assert.match(await own2.locator('main').innerText(), /Plans from other services[\s\S]*Knee exercises/)
      await visit(own2, server.url, '/prepare/record-access')
      await checkPage(own2, 'who has looked at my record')
      const log = await own2.locator('main table').innerText()
      assert.match(log, /Nurse at the practice[^\n]*\s+Changed your care and support plan/)
      assert.match(log, /Healthcare assistant at the practice/)
      assert.match(log, /You\s+Signed in online/)
      await visit(own2, server.url, '/prepare/plan')
      const download = await own2.request.get(new URL('/prepare/plan.pdf', server.url).href)
      assert.equal(download.headers()['content-type'], 'application/pdf')
      const planPath = path.join(fixtures, 'plan.pdf')
      await writeFile(planPath, await download.body())
      const text = execFileSync('pdftotext', [planPath, '-']).toString().replace(/\s+/g, ' ')
      for (const expected of ['My care plan', 'Feel well enough to travel in May', 'Walk for 20 minutes', 'Being ill (sick day rules)', 'Diabetes education course', 'my target is 58 mmol/mol', 'With Hazel Whitcombe']) {
        assert.ok(text.includes(expected), `missing ${expected} in ${text}`)
      }

      // 8. How a goal is going, recorded by the person.
      await own2.getByRole('radio', { name: 'It is going well' }).first().check()
      await own2.getByLabel('Anything you want to add (optional)').first().fill('Walked twice this week')
      await Promise.all([own2.waitForURL(/\/prepare\/plan\/progress$/), own2.getByRole('button', { name: 'Save how this goal is going' }).first().click()])
      await checkPage(own2, 'goal progress saved')
      assert.match(await own2.locator('main').innerText(), /Last time: It is going well \(Walked twice this week\)/)

      // 9. Who can see the plan: only after a code sent to the email on the GP record.
      await visit(own2, server.url, '/prepare/sharing')
      await checkPage(own2, 'who can see my plan')
      assert.match(await own2.locator('main').innerText(), /Only your GP practice can see your plan/)
      await Promise.all([own2.waitForURL(/\/prepare\/verify\?next=sharing$/), own2.getByRole('link', { name: 'Change who can see your plan' }).click()])
      await checkPage(own2, 'confirm it is you')
      const before = sink.received.length
      await own2.getByRole('button', { name: 'Send me a code' }).click()
      await own2.getByLabel('Enter the 6-digit code').waitFor()
      await checkPage(own2, 'code sent')
      let codeMail
      for (let waited = 0; !codeMail && waited < 100; waited += 1) {
        codeMail = sink.received.slice(before).find((mail) => /confirm it is you is \d{6}/.test(mail.data))
        if (!codeMail) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      assert.ok(codeMail, 'the code arrives by email')
      assert.ok(codeMail.to.some((to) => to.includes('hazel.whitcombe@example.test')))
      const stepUp = codeMail.data.match(/confirm it is you is (\d{6})/)[1]
      await own2.getByLabel('Enter the 6-digit code').fill(stepUp === '000000' ? '111111' : '000000')
      await own2.getByRole('button', { name: 'Continue' }).click()
      await own2.locator('.nhsuk-error-summary').waitFor()
      await checkPage(own2, 'a wrong code')
      assert.match(await own2.locator('.nhsuk-error-summary').innerText(), /not right[\s\S]*2 tries left/)
      await own2.getByLabel('Enter the 6-digit code').fill(stepUp)
      await Promise.all([own2.waitForURL(/\/prepare\/sharing$/), own2.getByRole('button', { name: 'Continue' }).click()])
      await checkPage(own2, 'choose who can see my plan')
      const partner = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'report', 'organisations', '--format', 'json']).toString()).find((organisation) => organisation.kind === 'partner')
      await own2.getByRole('checkbox', { name: partner.name }).check()
      await own2.getByRole('button', { name: 'Save my choice' }).click()
      await own2.locator('.nhsuk-notification-banner--success').waitFor()
      await checkPage(own2, 'choice saved')
      assert.ok((await own2.locator('main ul').first().innerText()).includes(partner.name), 'the partner is now listed')

      // The partner's system sees Hazel at once.
      const client = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'client', 'create', '--org', partner.ods_code, '--name', 'Community EPR', '--scope', 'system/*.read']).toString())
      const token = await fetch(`${server.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret })
      }).then((response) => response.json())
      const found = await fetch(`${server.url}/fhir/Patient/_search`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${NHS}` })
      }).then((response) => response.json())
      assert.equal(found.total, 1, 'consent takes effect at once')
      const goals = await fetch(`${server.url}/fhir/Goal?patient=Patient/${found.entry[0].resource.id}`, { headers: { authorization: `Bearer ${token.access_token}` } }).then((response) => response.json())
      assert.ok(goals.entry.some((entry) => entry.resource.achievementStatus?.coding[0].code === 'improving'), 'the goal progress reaches FHIR')

      // The feedback survey after the conversation: three questions, once.
      await visit(own2, server.url, '/prepare/letter')
      await Promise.all([own2.waitForURL(/\/prepare\/survey$/), own2.getByRole('link', { name: /Tell us how we are doing/ }).click()])
      await checkPage(own2, 'the survey')
      await own2.getByRole('radio', { name: 'Yes, to some extent' }).check()
      await own2.getByRole('radio', { name: 'Fairly confident' }).check()
      await own2.getByRole('radio', { name: 'Some of it' }).check()
      await own2.getByRole('button', { name: 'Send' }).click()
      await own2.locator('.nhsuk-notification-banner--success').waitFor()
      await checkPage(own2, 'survey answered')
      await visit(own2, server.url, '/prepare/letter')
      assert.equal(await own2.getByRole('link', { name: /Tell us how we are doing/ }).count(), 0, 'asked once')

      // 10. Four weeks on, a check-in by email: Hazel says a goal is hard and asks for help.
      const due = new Date(Date.now() + 29 * 86_400_000).toISOString().slice(0, 10)
      const sentCheckIns = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'check-ins', 'send', '--on', due]).toString())
      assert.equal(sentCheckIns.sent, 1)
      let checkInMail
      for (let waited = 0; !checkInMail && waited < 100; waited += 1) {
        checkInMail = sink.received.find((mail) => /How are your goals going/.test(mail.data))
        if (!checkInMail) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      assert.ok(checkInMail, 'the check-in arrives by email')
      assert.match(checkInMail.data.replace(/=\r?\n/g, ''), /not watched for emergencies/)
      const checkInCode = checkInMail.data.replace(/=\r?\n/g, '').match(/the code ([A-Z0-9-]+)/)[1]
      await visit(own2, server.url, '/prepare')
      await own2.getByLabel('Your code').fill(checkInCode)
      await own2.getByLabel('Day').fill('27')
      await own2.getByLabel('Month').fill('3')
      await own2.getByLabel('Year').fill('1951')
      await Promise.all([own2.waitForURL(/\/prepare\/letter$/), own2.getByRole('button', { name: 'Continue' }).click()])
      await Promise.all([own2.waitForURL(/\/prepare\/check-in$/), own2.getByRole('button', { name: 'Tell us how your plan is going' }).click()])
      await checkPage(own2, 'the check-in')
      assert.match(await own2.locator('main').innerText(), /This is not watched for emergencies/)
      await own2.getByRole('radio', { name: 'I am finding it hard' }).first().check()
      await own2.getByRole('checkbox', { name: 'I would like someone from the practice to contact me' }).check()
      await own2.getByLabel('Anything you want to tell us (optional)').fill('My knee has been bad')
      await own2.getByRole('button', { name: 'Send' }).click()
      await own2.locator('.nhsuk-notification-banner--success').waitFor()
      await checkPage(own2, 'check-in answered')
      assert.match(await own2.locator('main').innerText(), /Someone from the practice will contact you by/)
    } finally {
      await again.close()
    }

    // 11. The care coordinator sees the follow-up, with its reason and date, and closes it.
    await signIn(page, server.url, 'care-coordinator')
    await visit(page, server.url, '/check-ins')
    await checkPage(page, 'check-ins')
    const card = page.locator('.nhsuk-card', { hasText: 'WHITCOMBE, Hazel' })
    assert.match(await card.innerText(), /Asked for help\. Respond by[\s\S]*My knee has been bad/)
    await card.getByLabel('What was done').fill('Called Hazel; physiotherapy referral')
    await card.getByRole('button', { name: 'Done' }).click()
    await page.locator('.nhsuk-notification-banner--success').waitFor()
    await checkPage(page, 'follow-up done')
    assert.equal(await page.locator('.nhsuk-card', { hasText: 'WHITCOMBE, Hazel' }).count(), 0)
  })
})
