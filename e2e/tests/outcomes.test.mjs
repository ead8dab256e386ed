// The commissioner's outcomes dashboard in a real browser: the region, its networks and practices,
// aggregates only (no name, NHS number or record link), small numbers hidden with the rule
// stated, the monthly trend with its text alternative, and the CSV download. axe-core on every page.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { NHS_NUMBER, checkPage, launchBrowser, signIn, startServer, visit } from '../lib.mjs'

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
    assert.equal(await page.locator('main tbody tr').count(), 1, 'one region')
    assert.match(await page.locator('main .nhsuk-card').innerHTML(), /Care plans first agreed each month, the last 12 months\./, 'the trend has its text alternative')

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
  })
})
