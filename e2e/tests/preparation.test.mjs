// The person's preparation in a real browser, on the demo practice walked through the cycle: a
// nurse reads the letter as the person will, withholds a result (a reason is required), previews
// the PDF and sends the letter; a person whose results are not reviewed has no letter; the
// practice administrator finds the letter on the print list as a PDF and sends a week's letters
// from the clinics page. axe-core runs on every page.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { checkPage, launchBrowser, signIn, signOut, startServer, visit } from '../lib.mjs'

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

describe('the preparation letter', () => {
  let server
  let browser
  let page
  // The person the nurse sends a letter to: the code printed in it, their date of birth, the
  // record's address (for the nurse to come back to).
  let code
  let birth
  let personName
  let scratch

  before(async () => {
    server = await startServer({ cycle: true })
    browser = await launchBrowser()
    page = await browser.newPage()
    scratch = await mkdtemp(path.join(tmpdir(), 'concord-preparation-e2e-'))
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    if (scratch) await rm(scratch, { recursive: true, force: true })
  })

  /** Opens the preparation page of the first person on the worklist at `stage`; returns their name. */
  const openPreparation = async (stage) => {
    await visit(page, server.url, `/worklist?stage=${stage}`)
    const link = page.locator('table tbody tr a').first()
    const name = (await link.innerText()).trim()
    await Promise.all([page.waitForURL(/\/patients\/record\/[^/]+$/), link.click()])
    const born = (await page.locator('main').innerText()).match(/Born (\d+) (\w+) (\d{4})/)
    birth = { day: born[1], month: String(MONTHS.indexOf(born[2]) + 1), year: born[3] }
    await Promise.all([
      page.waitForURL(/\/preparation$/),
      page.getByRole('link', { name: "The person's preparation letter" }).click()
    ])
    await checkPage(page, `preparation at ${stage}`)
    return name
  }

  test('a nurse reads the letter, withholds a result with a reason, previews the PDF and sends it', async () => {
    await signIn(page, server.url, 'nurse')
    personName = await openPreparation('results_reviewed')
    const letter = page.locator('.nhsuk-card').filter({ hasText: 'Getting ready for your care and support planning appointment' })
    await assert.doesNotReject(letter.waitFor())
    const text = await letter.innerText()
    assert.match(text, /Your results/)
    assert.match(text, /About the unit/)
    assert.match(text, /What matters most to you at the moment\?/)
    assert.match(text, /not watched for urgent problems/)
    assert.match(text, /Sister Joan Okoro/, 'the reviewing clinician\'s note')
    assert.ok(await letter.locator('svg[role="img"]').count() > 0, 'trend charts with a text alternative')
    assert.ok(!/[?&](nhs|name|patient)/i.test(page.url()))

    // Withholding without a reason is refused and explained.
    const details = page.locator('details').first()
    const resultName = (await details.locator('summary').innerText()).replace(/^Withhold /, '').trim()
    await details.locator('summary').click()
    await Promise.all([page.waitForURL(/\/preparation$/), details.getByRole('button', { name: 'Withhold' }).click()])
    await checkPage(page, 'withhold without a reason')
    assert.match(await page.title(), /^Error: /)
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /Give the reason/)

    const open = page.locator('details[open]').first()
    await open.getByLabel('Why showing it could cause serious harm').fill('To be discussed in person first')
    await Promise.all([page.waitForURL(/\/preparation$/), open.getByRole('button', { name: 'Withhold' }).click()])
    await checkPage(page, 'result withheld')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Result withheld/)
    assert.match(await page.locator('.nhsuk-summary-list__row', { hasText: resultName }).first().innerText(), /Withheld by/)

    // The PDF previews, in every format.
    for (const format of ['standard', 'large_print', 'easy_read']) {
      const href = await page.getByRole('link', { name: format === 'standard' ? /standard print/ : format === 'large_print' ? /large print/ : /easy-read/ }).getAttribute('href')
      assert.ok(href.endsWith(`?format=${format}`), href)
      const response = await page.request.get(new URL(href, server.url).href)
      assert.equal(response.status(), 200)
      assert.equal(response.headers()['content-type'], 'application/pdf')
      assert.equal((await response.body()).subarray(0, 5).toString(), '%PDF-')
    }

    await Promise.all([page.waitForURL(/\/preparation$/), page.getByRole('button', { name: 'Make and send the preparation letter' }).click()])
    await checkPage(page, 'preparation sent')
    assert.match(await page.locator('.nhsuk-notification-banner--success').innerText(), /Preparation letter made/)
    const made = page.getByRole('link', { name: /letter made/ })
    assert.equal(await made.count(), 1)
    const stored = await page.request.get(new URL(await made.getAttribute('href'), server.url).href)
    assert.equal(stored.headers()['content-type'], 'application/pdf')
    // The code the person reads in their letter, as a PDF reader sees it.
    const pdf = path.join(scratch, 'letter.pdf')
    await writeFile(pdf, await stored.body())
    const letterText = execFileSync('pdftotext', [pdf, '-']).toString()
    code = letterText.match(/[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}/)?.[0]
    assert.ok(code, `the letter carries an access code:\n${letterText}`)
    assert.match(letterText.replace(/\s+/g, ' '), /\/prepare and enter the code/)
    await signOut(page)
  })

  test('the person opens their preparation with the code and their date of birth and writes their agenda', async () => {
    const person = await launchBrowser()
    try {
      const own = await person.newPage()
      await visit(own, server.url, '/prepare')
      await checkPage(own, 'online sign-in')
      const signInWith = async (day) => {
        await own.getByLabel('Your code').fill(code.toLowerCase())
        await own.getByLabel('Day').fill(day)
        await own.getByLabel('Month').fill(birth.month)
        await own.getByLabel('Year').fill(birth.year)
        await own.getByRole('button', { name: 'Continue' }).click()
        await own.waitForLoadState()
      }
      await signInWith(String((Number(birth.day) % 28) + 1))
      await checkPage(own, 'online sign-in refused')
      assert.match(await own.title(), /^Error: /)
      assert.match(await own.locator('.nhsuk-error-summary').innerText(), /code or date of birth is not right/)
      assert.ok(!/code|birth/i.test(new URL(own.url()).search), 'nothing typed travels in the address')

      await signInWith(birth.day)
      await own.waitForURL(/\/prepare\/letter$/)
      await checkPage(own, 'the preparation online')
      const body = await own.locator('main').innerText()
      assert.match(body, /Getting ready for your care and support planning appointment/)
      assert.match(body, /About the unit/)
      const download = await own.request.get(new URL('/prepare/letter.pdf', server.url).href)
      assert.equal(download.headers()['content-type'], 'application/pdf')

      await Promise.all([own.waitForURL(/\/prepare\/agenda$/), own.getByRole('button', { name: 'Write what you would like to talk about' }).click()])
      await checkPage(own, 'the agenda form')
      assert.match(await own.locator('main').innerText(), /not watched for urgent problems[\s\S]*999/i)
      await own.getByLabel('What matters most to you at the moment?').fill('Getting back to my walking group')
      await own.getByLabel('Do you have any questions about your results?').fill('Why is my blood pressure higher?')
      await own.getByRole('group', { name: 'Money' }).getByLabel('I would like some help with this').check()
      await own.getByRole('button', { name: 'Save your answers' }).click()
      await own.waitForLoadState()
      await checkPage(own, 'agenda saved')
      assert.match(await own.locator('.nhsuk-notification-banner--success').innerText(), /answers are saved/)
      await own.getByRole('link', { name: /Back to your results/ }).click()
      await own.getByRole('button', { name: 'Sign out' }).click()
      await own.waitForURL(/\/prepare$/)
      await visit(own, server.url, '/prepare/letter')
      assert.match(own.url(), /\/prepare$/, 'signed out: back to the sign-in page')
    } finally {
      await person.close()
    }

    // The nurse reads the agenda before the conversation (record links belong to one session:
    // she finds the person again).
    await signIn(page, server.url, 'nurse')
    await visit(page, server.url, '/worklist?stage=preparation_sent')
    await Promise.all([page.waitForURL(/\/patients\/record\/[^/]+$/), page.getByRole('link', { name: personName, exact: true }).click()])
    await Promise.all([page.waitForURL(/\/preparation$/), page.getByRole('link', { name: "The person's preparation letter" }).click()])
    await checkPage(page, 'preparation with the agenda')
    const agenda = await page.locator('dl', { has: page.getByText('Getting back to my walking group') }).innerText()
    assert.match(agenda, /Why is my blood pressure higher\?/)
    assert.match(agenda, /Money\s+I would like some help with this/)
    await signOut(page)
  })

  test('no letter before the results are reviewed', async () => {
    await signIn(page, server.url, 'gp')
    await openPreparation('tests_done')
    assert.match(await page.locator('.nhsuk-card--warning').innerText(), /cannot be made yet[\s\S]*reviewed the results/)
    assert.equal(await page.getByRole('button', { name: 'Make and send the preparation letter' }).count(), 0)
    assert.equal(await page.locator('.nhsuk-card', { hasText: 'Getting ready for your' }).count(), 0)
    await signOut(page)
  })

  test('the administrator prints letters as PDFs and sends a week of conversations\' letters', async () => {
    await signIn(page, server.url, 'practice-admin')
    await visit(page, server.url, '/letters')
    await checkPage(page, 'letters to print')
    const preparation = page.locator('table tbody tr', { hasText: 'preparation' })
    assert.ok(await preparation.count() > 0, 'preparation letters wait on the print list')
    assert.match(await preparation.first().innerText(), /\(PDF\)/)

    await visit(page, server.url, '/clinics')
    await Promise.all([
      page.waitForURL(/\/clinics\/preparation$/),
      page.getByRole('button', { name: "Send preparation letters for this week's conversations" }).click()
    ])
    await checkPage(page, 'preparation letters sent for the week')
    const body = await page.locator('main').innerText()
    assert.match(body, /Preparation letters for conversations on/)
    assert.match(body, /already made on/, 'people with a letter this year are not sent another')
    await signOut(page)
  })
})
