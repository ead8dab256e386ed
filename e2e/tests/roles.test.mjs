// Each staff role signs in and sees what it may see, and is refused what it may not, with
// axe-core run on every page visited.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { CLINICAL_ROLES, NHS_NUMBER, checkPage, launchBrowser, signIn, signOut, startServer, visit } from '../lib.mjs'

/** A name as NHS clinical screens write it: "JONES, Ann". */
const CLINICAL_NAME = /\b[A-Z][A-Z' -]+, [A-Z][a-z]/

describe('staff roles', () => {
  let server
  let browser
  let page

  before(async () => {
    server = await startServer()
    browser = await launchBrowser()
    page = await browser.newPage()
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  const forbidden = async (route) => {
    await visit(page, server.url, route, { status: 403 })
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You do not have permission to see this page')
  }

  for (const role of CLINICAL_ROLES) {
    test(`${role} can search for patients and sees the practice's registers`, async () => {
      await signIn(page, server.url, role)
      await assert.doesNotReject(page.getByLabel('Name or NHS number').waitFor())
      assert.ok(await page.getByRole('link', { name: 'Find a patient' }).isVisible())
      assert.match(await page.locator('caption').first().innerText(), /People on each long-term condition register/)
      assert.match(await page.locator('.nhsuk-notification-banner').innerText(), /fictional/)
      await visit(page, server.url, '/patients')
      await visit(page, server.url, '/results/unreadable')
      await forbidden('/audit')
      await page.goto(new URL('/', server.url).href)
      await signOut(page)
    })
  }

  test('practice administrator sees register counts but cannot open records', async () => {
    await signIn(page, server.url, 'practice-admin')
    assert.match(await page.locator('caption').first().innerText(), /People on each long-term condition register/)
    assert.equal(await page.getByLabel('Name or NHS number').count(), 0)
    await forbidden('/patients')
    await forbidden('/results/unreadable')
    await forbidden('/audit')
    await page.goto(new URL('/', server.url).href)
    await signOut(page)
  })

  test('privacy officer reads the audit trail', async () => {
    await signIn(page, server.url, 'privacy-officer')
    await Promise.all([page.waitForURL(/\/audit$/), page.getByRole('link', { name: 'See the audit trail' }).click()])
    await checkPage(page, '/audit')
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Audit trail')
    const rows = await page.locator('tbody tr').count()
    assert.ok(rows > 0, 'the earlier sign-ins are listed')
    assert.match(await page.locator('tbody').innerText(), /Signed in/)
    await forbidden('/patients')
    await page.goto(new URL('/', server.url).href)
    await signOut(page)
  })

  test('commissioner sees aggregates only: no search, no record, no name or NHS number', async () => {
    // A record link from a clinician's session, to try as the commissioner.
    await signIn(page, server.url, 'gp')
    await page.getByLabel('Name or NHS number').fill('s')
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.getByRole('button', { name: 'Search' }).click()])
    await checkPage(page, 'search results')
    const recordLink = await page.locator('a[href^="/patients/record/"]').first().getAttribute('href')
    assert.ok(recordLink)
    await signOut(page)

    await signIn(page, server.url, 'commissioner')
    const text = await page.locator('main').innerText()
    assert.match(text, /all practices/)
    assert.doesNotMatch(text, NHS_NUMBER)
    assert.doesNotMatch(text, CLINICAL_NAME)
    assert.equal(await page.getByLabel('Name or NHS number').count(), 0, 'no search box')
    assert.equal(await page.getByRole('link', { name: 'Find a patient' }).count(), 0)
    await forbidden('/patients')
    await forbidden(recordLink)
    assert.doesNotMatch(await page.locator('body').innerText(), NHS_NUMBER)
    await forbidden('/results/unreadable')
    await forbidden('/audit')
    await page.goto(new URL('/', server.url).href)
    await signOut(page)
  })

  test('system administrator is told how accounts and data are managed', async () => {
    await signIn(page, server.url, 'system-admin')
    assert.match(await page.locator('main').innerText(), /concord user create/)
    await forbidden('/patients')
    await forbidden('/audit')
    await page.goto(new URL('/', server.url).href)
    await signOut(page)
  })

  test('pages need a session and unknown pages are NHS-style 404s', async () => {
    await page.goto(new URL('/patients', server.url).href)
    assert.equal(new URL(page.url()).pathname, '/sign-in')
    await checkPage(page, 'redirected to sign-in')
    await visit(page, server.url, '/no-such-page', { status: 404 })
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Page not found')
  })
})
