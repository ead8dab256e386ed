// The outcomes dashboard in a real browser: a commissioner's region, networks and practices, and a
// Year of Care facilitator's view of progress through the cycle and paid activity; aggregates only
// (no name, NHS number or record link), small numbers hidden with the rule stated, the monthly
// trends with their text alternatives, and the CSV download. axe-core on every page.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { NHS_NUMBER, checkPage, launchBrowser, signIn, signOut, startServer } from '../lib.mjs'

describe('the outcomes dashboard', () => {
  let server
  let browser
  let page

  before(async () => {
    server = await startServer({ cycle: true })
    browser = await launchBrowser()
    page = await browser.newPage()
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
  })

  test('a commissioner sees aggregates by region, network and practice, and downloads them', async () => {
    await signIn(page, server.url, 'commissioner')
    await Promise.all([page.waitForURL(/\/outcomes$/), page.getByRole('link', { name: 'Outcomes' }).click()])
    await checkPage(page, 'outcomes by region')
    const main = await page.locator('main').innerText()
    assert.match(main, /Aggregate figures only/)
    assert.match(main, /Counts from 1 to 4/)
    assert.match(main, /regression to the mean/)
    assert.doesNotMatch(main, NHS_NUMBER, 'no NHS number')
    assert.equal(await page.locator('main a[href^="/patients"]').count(), 0, 'no record links')
    assert.equal(await page.locator('main table').count(), 3, 'outcomes, red flags, goals')
    for (const table of await page.locator('main table').all()) {
      assert.equal(await table.locator('tbody tr').count(), 1, 'one region')
    }
    assert.match(main, /Red flags raised in the last 12 months: time from the result to the action/)
    assert.match(main, /COPD review/)
    const charts = page.locator('main .nhsuk-card')
    assert.equal(await charts.count(), 3, 'three monthly trends')
    assert.match(await charts.nth(2).innerHTML(), /Care and support plans agreed, each month for the last 12 months\./, 'the trend has its text alternative')

    for (const [link, label] of [['Primary care networks', 'outcomes by network'], ['Practices', 'outcomes by practice']]) {
      await Promise.all([page.waitForURL(/\/outcomes\?level=/), page.getByRole('link', { name: link }).click()])
      await checkPage(page, label)
      assert.ok(await page.locator('main tbody tr').count() >= 1)
      assert.doesNotMatch(await page.locator('main').innerText(), NHS_NUMBER)
    }
    const download = await page.request.get(new URL('/outcomes.csv?level=practice', server.url).href)
    assert.equal(download.status(), 200)
    assert.match(download.headers()['content-type'], /^text\/csv/)
    const [header] = (await download.text()).split('\n')
    assert.match(header, /^level,ods_code,name,eligible,care_plans_shared_with_patient/)
    for (const column of ['goal_attainment', 'urgent_flags_within_24_hours', 'cycle_record_tests_done', 'lcs_plan_agreed', 'unscheduled_visits_note', 'suppression_rule']) {
      assert.ok(header.split(',').includes(column), column)
    }
  })

  test("a Year of Care facilitator starts with each practice's progress through the cycle and its paid activity", async () => {
    await signOut(page)
    const facilitator = page
    await signIn(facilitator, server.url, 'facilitator')
    await Promise.all([facilitator.waitForURL(/\/outcomes$/), facilitator.getByRole('link', { name: 'Outcomes' }).click()])
    await checkPage(facilitator, 'progress through the cycle by practice')
    const main = await facilitator.locator('main').innerText()
    assert.match(main, /People through this year's cycle by practices/)
    assert.match(main, /Local commissioned service activity since 1 April/)
    assert.match(main, /Chronic disease initial assessment/)
    assert.doesNotMatch(main, NHS_NUMBER)
    assert.equal(await facilitator.locator('main a[href^="/patients"]').count(), 0, 'no record links')
    assert.equal(await facilitator.locator('main [aria-current="page"]').innerText(), 'Progress through the cycle')
    // The same view for the region, then the outcomes view, keep each other's choice.
    await Promise.all([facilitator.waitForURL(/level=region&view=cycle/), facilitator.getByRole('link', { name: 'Region' }).click()])
    await checkPage(facilitator, 'progress through the cycle by region')
    await Promise.all([facilitator.waitForURL(/level=region&view=outcomes/), facilitator.getByRole('link', { name: 'Outcomes', exact: true }).last().click()])
    await checkPage(facilitator, 'outcomes by region, from the facilitator')
  })
})
