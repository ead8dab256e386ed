// Clinicians outside the practice in a real browser: a community clinician finds a person who
// shared their plan with the service and reads it, "If things get worse" first; for someone who
// did not share, they break the glass with a reason; the practice's privacy officer reviews it.
// axe-core runs on every page.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import Ajv2020 from 'ajv/dist/2020.js'

import { checkPage, launchBrowser, signIn, signOut, startServer, visit } from '../lib.mjs'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

describe('shared care plans for clinicians outside the practice', () => {
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

  const find = async (nhsNumber) => {
    await visit(page, server.url, '/shared')
    await page.getByLabel('NHS number').fill(nhsNumber)
    await Promise.all([page.waitForURL(/\/shared$/), page.getByRole('button', { name: 'Find the plan' }).click()])
  }

  test('a partner clinician reads shared plans, breaks the glass for another, and the privacy officer reviews it', async () => {
    const plans = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'report', 'plans', '--format', 'json'], { cwd: repository }).toString())
      .filter((plan) => plan.status === 'agreed')
    await signIn(page, server.url, 'partner-clinician')
    assert.equal(await page.getByRole('link', { name: 'Find a patient' }).count(), 0, 'no practice records')

    let shared
    let hidden
    for (const plan of plans) {
      if (shared && hidden) break
      await find(plan.nhs_number)
      const found = await page.getByRole('heading', { name: 'Plan found' }).count()
      if (found && !shared) {
        shared = plan
        await checkPage(page, 'plan found')
      } else if (!found && !hidden) {
        hidden = plan
        await checkPage(page, 'no plan shared')
      }
    }
    assert.ok(shared && hidden, 'someone shares with the community service and someone does not')

    // The shared plan: contingency first, read only.
    await find(shared.nhs_number)
    await Promise.all([page.waitForURL(/\/shared\/plan\/[^/]+$/), page.getByRole('link', { name: /read the care and support plan/ }).click()])
    await checkPage(page, 'the shared plan')
    assert.ok(!page.url().includes(shared.nhs_number), 'no NHS number in the address')
    const headings = await page.locator('main h3').allInnerTexts()
    assert.equal(headings[0], 'If things get worse', `contingency first: ${headings.join(' | ')}`)
    assert.ok(headings.indexOf('My goals') > 0, 'the goals follow')
    assert.equal(await page.locator('main form').count(), 0, 'read only')

    // Not shared: a reason is required, then the plan opens with the emergency access stated.
    await find(hidden.nhs_number)
    await page.getByRole('button', { name: 'Read the plan in an emergency' }).click()
    await page.locator('.nhsuk-error-summary').waitFor()
    await checkPage(page, 'break-glass without a reason')
    await page.getByLabel('Why do you need to see this plan now?').fill('Fell at home, confused; need the contingency plan')
    await Promise.all([page.waitForURL(/\/shared\/plan\/[^/]+$/), page.getByRole('button', { name: 'Read the plan in an emergency' }).click()])
    await checkPage(page, 'the plan in an emergency')
    assert.match(await page.locator('main').innerText(), /You are reading this plan in an emergency: "Fell at home, confused; need the contingency plan"/)
    await signOut(page)

    // The privacy officer is told on their home page and records the review.
    await signIn(page, server.url, 'privacy-officer')
    assert.match(await page.locator('main').innerText(), /1 emergency access by clinicians outside the practice is waiting for your review/)
    await Promise.all([page.waitForURL(/\/privacy\/break-glass$/), page.getByRole('link', { name: 'Review them' }).click()])
    await checkPage(page, 'break-glass to review')
    assert.match(await page.locator('main').innerText(), /Fell at home, confused/)
    await page.getByLabel('What you found').fill('Appropriate: ambulance crew confirmed the fall')
    await Promise.all([page.waitForURL(/\/privacy\/break-glass$/), page.getByRole('button', { name: 'Record the review' }).click()])
    await checkPage(page, 'review recorded')
    assert.match(await page.locator('main').innerText(), /Review recorded[\s\S]*None waiting for review/)

    const report = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'report', 'break-glass', '--format', 'json', '--all'], { cwd: repository }).toString())
    const schema = (name) => new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(path.join(repository, 'schemas', name), 'utf8')))
    const validBreakGlass = schema('report-break-glass.schema.json')
    assert.ok(validBreakGlass(report), JSON.stringify(validBreakGlass.errors))
    assert.equal(report.length, 1)
    assert.equal(report[0].review_note, 'Appropriate: ambulance crew confirmed the fall')
    const audit = JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', server.database, 'report', 'audit', '--format', 'json', '--limit', '200'], { cwd: repository }).toString())
    const validAudit = schema('report-audit.schema.json')
    assert.ok(validAudit(audit), JSON.stringify(validAudit.errors))
    assert.ok(audit.some((event) => event.actor === 'demo.partner-clinician' && event.why === 'break-glass: Fell at home, confused; need the contingency plan'))
    assert.ok(audit.some((event) => event.actor === 'demo.partner-clinician' && event.why === 'shared care: consent'))
  })
})
