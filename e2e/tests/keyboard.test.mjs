// Keyboard use: the skip link is the first thing Tab reaches, and signing in and searching can be
// done with the keyboard alone.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { DEMO_PASSWORD, checkPage, launchBrowser, startServer, visit } from '../lib.mjs'

describe('keyboard', () => {
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

  const focused = () => page.evaluate(() => {
    const element = document.activeElement
    return { tag: element.tagName.toLowerCase(), id: element.id, text: element.innerText?.trim() ?? '', className: element.className }
  })

  /** Presses Tab until the element with `id` has focus (at most `limit` times). */
  const tabTo = async (id, limit = 15) => {
    for (let presses = 0; presses < limit; presses++) {
      await page.keyboard.press('Tab')
      if ((await focused()).id === id) return presses + 1
    }
    assert.fail(`Tab never reached #${id}`)
  }

  test('Tab reaches the skip link first, and it skips to the main content', async () => {
    await visit(page, server.url, '/sign-in')
    await page.keyboard.press('Tab')
    const first = await focused()
    assert.equal(first.tag, 'a')
    assert.equal(first.text, 'Skip to main content')
    assert.match(first.className, /nhsuk-skip-link/)
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => location.hash === '#maincontent' || document.activeElement?.id === 'maincontent')
    // The next Tab goes into the page content, not back to the header.
    await page.keyboard.press('Tab')
    const next = await page.evaluate(() => document.activeElement.closest('main') !== null)
    assert.ok(next, 'focus moved into main')
  })

  test('the sign-in form can be completed with the keyboard', async () => {
    await visit(page, server.url, '/sign-in')
    await tabTo('username')
    await page.keyboard.type('demo.gp')
    await page.keyboard.press('Tab')
    assert.equal((await focused()).id, 'password')
    await page.keyboard.type(DEMO_PASSWORD)
    await page.keyboard.press('Tab')
    const button = await focused()
    assert.equal(button.tag, 'button')
    assert.equal(button.text, 'Sign in')
    await Promise.all([page.waitForURL(new URL('/', server.url).href), page.keyboard.press('Enter')])
    await checkPage(page, 'home after keyboard sign-in')
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Demo GP/)
  })

  test('a search can be made with the keyboard', async () => {
    await tabTo('query', 25)
    await page.keyboard.type('s')
    await Promise.all([page.waitForURL(/\/patients\/search$/), page.keyboard.press('Enter')])
    await checkPage(page, 'results after keyboard search')
    assert.ok(await page.locator('a[href^="/patients/record/"]').count() > 0)
  })
})
