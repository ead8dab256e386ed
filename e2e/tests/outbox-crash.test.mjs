// Messages survive crashes: sixty invitations by email are being sent through a slow SMTP relay on
// loopback while the server is killed (SIGKILL) again and again mid-send; after restarts every
// message has been delivered, each carrying its stable Message-ID, so the receiving side, which
// keeps one copy per Message-ID, sees each exactly once. Resends caused by the crashes (accepted by
// the relay but killed before being recorded as sent) are counted and reported.

import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import Ajv2020 from 'ajv/dist/2020.js'

import { smtpSink } from '../lib.mjs'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const PEOPLE = 60

/** The `index`th valid NHS number in the 999 (test) range. */
function nhsNumber (index) {
  for (let n = 999000000 + index * 13; ; n += 1) {
    const digits = String(n).split('').map(Number)
    const check = 11 - (digits.reduce((sum, digit, position) => sum + digit * (10 - position), 0) % 11)
    if (check === 10) continue
    return `${n}${check === 11 ? 0 : check}`
  }
}

describe('the outbox through crashes', () => {
  let directory
  let sink
  const database = () => `sqlite://${path.join(directory, 'crash.db')}`
  const cli = (...args) => JSON.parse(execFileSync(process.env.CONCORD_BIN, ['--database', database(), ...args], { cwd: repository }).toString())

  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'concord-outbox-crash-'))
    sink = await smtpSink({ delay: 40 })
    const numbers = [...Array(PEOPLE).keys()].map(nhsNumber)
    await writeFile(path.join(directory, 'patients.csv'),
      'record_id,nhs_number,given_name,family_name,birth_date,sex,practice_ods_code,registered_from,email,preferred_channel\n' +
      numbers.map((number, index) => `C${index},${number},Person,Number${index},1950-01-${String(1 + (index % 28)).padStart(2, '0')},female,F00001,2001-01-01,person${index}@example.test,email\n`).join(''))
    await writeFile(path.join(directory, 'conditions.csv'),
      'record_id,nhs_number,code,term,onset_date,status\n' +
      numbers.map((number, index) => `D${index},${number},44054006,Type 2 diabetes mellitus,2010-01-01,active\n`).join(''))
    execFileSync(process.env.CONCORD_BIN, ['--database', database(), 'import', '--synthetic', directory], { cwd: repository, stdio: 'ignore' })
    const invited = cli('invite', '--nhs-number', ...numbers)
    assert.equal(invited.invited, PEOPLE, JSON.stringify(invited.refused))
  })

  after(async () => {
    sink?.close()
    if (directory) await rm(directory, { recursive: true, force: true })
  })

  const serve = async () => {
    const server = spawn(process.env.CONCORD_BIN, ['--database', database(), 'serve', '--listen', '127.0.0.1:0'], {
      cwd: repository,
      env: {
        ...process.env,
        CONCORD_ASSETS: path.join(repository, 'assets/node_modules/nhsuk-frontend/dist/nhsuk'),
        CONCORD_LOG: 'warn',
        CONCORD_SMTP_URL: `smtp://127.0.0.1:${sink.port}?tls=none`,
        CONCORD_SMTP_FROM: 'Concord <noreply@concord.example>',
        CONCORD_OUTBOX_INTERVAL_SECS: '1'
      },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start: ${out}`)), 30_000)
      server.stdout.on('data', (chunk) => {
        out += chunk
        if (out.includes('listening on')) { clearTimeout(timer); resolve() }
      })
      server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited with ${code}`)) })
    })
    server.removeAllListeners('exit')
    return server
  }

  const emails = () => cli('report', 'outbox', '--format', 'json').filter((message) => message.channel === 'email')

  test('every message is delivered after many kills, and the receiver sees each once', async (t) => {
    const messages = emails()
    assert.equal(messages.length, PEOPLE)
    let kills = 0
    let killedMidway = 0
    for (let round = 0; round < 12 && emails().some((message) => message.status === 'queued'); round += 1) {
      const server = await serve()
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(Math.random() * 900)))
      server.kill('SIGKILL')
      await once(server, 'exit')
      kills += 1
      const sent = emails().filter((message) => message.status === 'sent').length
      if (sent > 0 && sent < PEOPLE) killedMidway += 1
    }
    // Then a server that is left to finish.
    const server = await serve()
    for (let waited = 0; emails().some((message) => message.status === 'queued') && waited < 600; waited += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    server.kill('SIGTERM')
    await once(server, 'exit')

    const report = cli('report', 'outbox', '--format', 'json')
    const valid = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(path.join(repository, 'schemas/report-outbox.schema.json'), 'utf8')))
    assert.ok(valid(report), JSON.stringify(valid.errors))
    const final = emails()
    assert.deepEqual(final.filter((message) => message.status !== 'sent').map((message) => message.status), [], 'every message is sent')
    const ids = (text) => text.match(/^Message-ID: <([^@>]+)@concord\.example>/mi)?.[1]
    const received = sink.received.map((mail) => ids(mail.data))
    assert.ok(received.every(Boolean), 'every message carries its Message-ID')
    const once_ = new Set(received)
    assert.deepEqual([...once_].sort(), final.map((message) => message.id).sort(), 'the receiver has each message, and nothing else')
    t.diagnostic(`${kills} kills (${killedMidway} while sending); ${received.length} deliveries for ${PEOPLE} messages (${received.length - once_.size} resent after a crash, recognised by Message-ID)`)
    assert.ok(kills >= 3, 'the server was killed several times')
  })
})
