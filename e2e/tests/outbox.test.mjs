// The outbox through the real server: a practice administrator invites a person whose preferred
// channel is email; the running server delivers the invitation, with the two-appointments
// leaflet, to a real SMTP server on loopback (a minimal one written here), once.

import assert from 'node:assert/strict'
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

import { checkPage, launchBrowser, signIn, smtpSink, startServer, visit } from '../lib.mjs'

describe('the outbox through the real server', () => {
  let server
  let browser
  let page
  let sink
  let fixtures

  before(async () => {
    sink = await smtpSink()
    fixtures = await mkdtemp(path.join(tmpdir(), 'concord-outbox-fixture-'))
    await writeFile(path.join(fixtures, 'patients.csv'),
      'record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,email,preferred_channel\n' +
      'M1,9434765919,Edith,Marchbanks,1947-06-02,female,F00001,2001-01-01,edith@example.test,email\n')
    await writeFile(path.join(fixtures, 'conditions.csv'),
      'record_id,nhs_number,code,term,onset_date,status\nM1-DM,9434765919,44054006,Type 2 diabetes mellitus,2008-01-01,active\n')
    server = await startServer({
      extracts: [fixtures],
      env: {
        CONCORD_SMTP_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
        CONCORD_SMTP_FROM: 'Moorside Medical Centre <noreply@moorside.example>',
        CONCORD_OUTBOX_INTERVAL_SECS: '1'
      }
    })
    browser = await launchBrowser()
    page = await browser.newPage()
    await signIn(page, server.url, 'practice-admin')
  })

  after(async () => {
    await browser?.close()
    await server?.stop()
    sink?.close()
    if (fixtures) await rm(fixtures, { recursive: true, force: true })
  })

  test('an invitation reaches the SMTP server once, with the leaflet', async () => {
    await visit(page, server.url, '/worklist?register=diabetes')
    const row = page.locator('table tbody tr', { hasText: 'MARCHBANKS, Edith' })
    await row.getByRole('checkbox').check()
    await Promise.all([page.waitForURL(/\/worklist\/invite$/), page.getByRole('button', { name: 'Invite selected people' }).click()])
    await checkPage(page, 'invited')

    const deadline = Date.now() + 20_000
    while (!sink.received.some((mail) => mail.to.join(' ').includes('edith@example.test')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const mails = sink.received.filter((mail) => mail.to.join(' ').includes('edith@example.test'))
    assert.equal(mails.length, 1, 'delivered once')
    const mail = mails[0].data
    assert.match(mail, /Subject: Your long-term condition review/)
    assert.match(mail, /Dear Edith/)
    assert.match(mail, /your-yearly-review-two-appointments\.txt/, 'the leaflet is attached')
    // Nothing more arrives on later rounds.
    await new Promise((resolve) => setTimeout(resolve, 2500))
    assert.equal(sink.received.filter((m) => m.to.join(' ').includes('edith@example.test')).length, 1)
    assert.doesNotMatch(server.log(), /edith@example\.test/, 'the address never reaches the log')
  })
})
