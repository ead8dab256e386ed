// Finding a patient by name, NHS number and date of birth, and opening their summary, as a GP.
// axe-core runs on every page, including the error summary.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { NHS_NUMBER, RED_FLAGS_FIXTURE, checkPage, launchBrowser, signIn, startServer, visit } from '../lib.mjs'

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

describe('finding a patient', () => {
  let server
  let browser
  let page
  /** A patient from the first name search: { name, nhsNumber, birthDate }. */
  let found

  before(async () => {
    server = await startServer({ extracts: [RED_FLAGS_FIXTURE] })
    browser = await launchBrowser()
    page = await browser.newPage()
    await signIn(page, server.url, 'gp')
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  const search = async (fields) => {
    await visit(page, server.url, '/patients')
    for (const [label, value] of Object.entries(fields)) {
      await page.getByLabel(label, { exact: true }).fill(value)
    }
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search', exact: true }).click()])
    await checkPage(page, `search ${JSON.stringify(fields)}`)
  }

  const resultRows = async () => page.locator('table tbody tr').evaluateAll((rows) => rows.map((row) => {
    const cells = [...row.querySelectorAll('td')].map((cell) => cell.innerText.trim())
    return { name: row.querySelector('a').innerText.trim(), href: row.querySelector('a').getAttribute('href'), nhsNumber: cells[1], birthDate: cells[2] }
  }))

  test('an empty search is explained with the error summary', async () => {
    await search({})
    assert.match(await page.title(), /^Error: /)
    const summary = page.locator('.nhsuk-error-summary')
    assert.match(await summary.innerText(), /Enter a name, NHS number or date of birth/)
    await summary.getByRole('link').click()
    assert.equal(await page.evaluate(() => document.activeElement.id), 'name', 'the summary link leads to the field')
  })

  test('a malformed NHS number is refused with the reason', async () => {
    await search({ 'NHS number': '943 476 591' })
    assert.match(await page.locator('.nhsuk-error-summary').innerText(), /NHS number must be 10 digits \(you entered 9\)/)
    assert.match(await page.locator('#nhs-number-error').innerText(), /Error:\s*NHS number must be 10 digits/)
  })

  test('search by name lists patients with 999 NHS numbers, and no identifier in any link', async () => {
    for (const letter of 'sbmhcwjtp') {
      await search({ Name: letter })
      const rows = await resultRows()
      if (rows.length > 0) {
        found = rows.find((row) => NHS_NUMBER.test(row.nhsNumber)) ?? rows[0]
        break
      }
    }
    assert.ok(found, 'some family names start with a common letter')
    assert.match(found.name, /^[A-Z' -]+, \S/, 'names are written FAMILY, Given')
    assert.match(found.nhsNumber, /^999 \d{3} \d{4}$/, 'synthetic patients have test-range NHS numbers')
    assert.match(found.birthDate, /^\d{1,2} [A-Z][a-z]+ \d{4}$/, 'dates are written 15 March 1950')
    const hrefs = await page.locator('a[href^="/patients/record/"]').evaluateAll((links) => links.map((link) => link.getAttribute('href')))
    for (const href of hrefs) {
      assert.match(href, /^\/patients\/record\/[A-Za-z0-9_-]{22}$/)
      assert.ok(!href.includes(found.nhsNumber.replaceAll(' ', '')))
    }
  })

  test('search by the NHS number finds the same patient', async () => {
    await search({ 'NHS number': found.nhsNumber })
    const rows = await resultRows()
    assert.equal(rows.length, 1)
    assert.equal(rows[0].name, found.name)
    assert.equal(new URL(page.url()).search, '', 'the search is posted, not put in the address')
  })

  test('search by date of birth with the three-field date input', async () => {
    const [day, monthName, year] = found.birthDate.split(' ')
    await search({ Day: day, Month: String(MONTHS.indexOf(monthName) + 1), Year: year })
    const rows = await resultRows()
    assert.ok(rows.some((row) => row.name === found.name), `${found.name} is among those born on ${found.birthDate}`)
  })

  test('the patient summary shows the record', async () => {
    await search({ 'NHS number': found.nhsNumber })
    await Promise.all([page.waitForURL(/\/patients\/record\//), page.getByRole('link', { name: found.name }).click()])
    await checkPage(page, 'patient summary')
    const heading = await page.getByRole('heading', { level: 1 }).innerText()
    assert.ok(heading.includes(found.name), heading)
    const main = await page.locator('main').innerText()
    assert.ok(main.includes(found.nhsNumber))
    assert.ok(main.includes(found.birthDate))
    for (const section of ['Registers', 'Personal details', 'Latest results', 'Conditions', 'Medications', 'Recent appointments and contacts']) {
      assert.ok(await page.getByRole('heading', { name: section, exact: true }).isVisible(), section)
    }
    if (/Medication/.test(await page.locator('table').allInnerTexts().then((texts) => texts.join(' ')))) {
      assert.match(main, /As at \d{1,2} [A-Z][a-z]+ \d{4} from the GP record/)
    }
    const response = await page.reload()
    assert.equal(response.headers()['cache-control'], 'no-store')
    assert.match(response.headers()['content-security-policy'], /script-src 'self' 'nonce-/)
  })

  test('the quick search on the home page takes an NHS number', async () => {
    await visit(page, server.url, '/')
    await page.getByLabel('Name or NHS number').fill(found.nhsNumber)
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search' }).click()])
    await checkPage(page, 'quick search')
    assert.equal((await resultRows())[0].name, found.name)
  })

  test('a person who has died is unmistakable, and unreadable results are flagged first', async () => {
    await search({ 'NHS number': '999 876 5439' })
    const row = (await resultRows())[0]
    assert.equal(row.name, 'EXAMPLETON, Eleanor')
    assert.match(await page.locator('table tbody tr').first().innerText(), /Deceased/)
    await Promise.all([page.waitForURL(/\/patients\/record\//), page.getByRole('link', { name: row.name }).click()])
    await checkPage(page, 'summary of a person who has died')
    const cards = page.locator('.nhsuk-card--warning')
    assert.match(await cards.nth(0).innerText(), /This person has died[\s\S]*14 February 2025/)
    assert.match(await cards.nth(1).innerText(), /could not be read at import; check it in the GP record/)
    assert.match(await cards.nth(1).innerText(), /Potassium/i)
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Deceased/)
  })

  test('the home page counts unreadable red-flag results and lists them', async () => {
    await visit(page, server.url, '/')
    const link = page.getByRole('link', { name: 'See the unreadable results' })
    await Promise.all([page.waitForURL(/\/results\/unreadable$/), link.click()])
    await checkPage(page, '/results/unreadable')
    assert.match(await page.locator('tbody').innerText(), /potassium/i)
  })

  test('a record link does not work in another session', async () => {
    await search({ 'NHS number': found.nhsNumber })
    const href = (await resultRows())[0].href
    // Another session in the same browser profile: put this session's cookies aside.
    const cookies = await browser.context.cookies()
    await browser.context.clearCookies()
    await signIn(page, server.url, 'nurse')
    await visit(page, server.url, href, { status: 404 })
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Page not found')
    await browser.context.clearCookies()
    await browser.context.addCookies(cookies)
    await visit(page, server.url, href)
  })
})
