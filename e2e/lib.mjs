// Shared helpers for the browser tests: start the real `concord` binary on a fresh synthetic
// database, drive Debian's Chromium with playwright-core, sign in, and run axe-core on every page.
//
// Environment: CONCORD_BIN (the debug build of `concord`, set by scripts/test.sh) and optionally
// CHROMIUM (default /usr/bin/chromium).

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import AxeBuilder from '@axe-core/playwright'
import { chromium } from 'playwright-core'

export const DEMO_PASSWORD = 'concord-demo-password'

/** Demo usernames are `demo.<role>` with the role as in `StaffRole::as_str`, `_` written `-`. */
export const ROLES = [
  'hca',
  'nurse',
  'gp',
  'pharmacist',
  'care-coordinator',
  'practice-admin',
  'privacy-officer',
  'commissioner',
  'facilitator',
  'system-admin',
  'partner-clinician'
]
export const CLINICAL_ROLES = ['hca', 'nurse', 'gp', 'pharmacist', 'care-coordinator']

/** WCAG 2.2 AA as axe-core tags it. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

/** NHS numbers as pages show them (3-3-4). */
export const NHS_NUMBER = /\b\d{3} \d{3} \d{4}\b/

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Runs a command to completion; resolves with its output when the exit code is one of `ok`. */
function run (command, args, options, ok = [0]) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.on('error', reject)
    child.on('exit', (code) => ok.includes(code)
      ? resolve(output)
      : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`)))
  })
}

/** A small synthetic extract: a person who has died, one unreadable red-flag result on their
 * record and one rejected red-flag result (no subject), imported after the demo population. */
export const RED_FLAGS_FIXTURE = path.join(repository, 'e2e/fixtures/red-flags.json')

/**
 * Seeds a synthetic practice into a fresh database, imports `extracts` (as synthetic data) and
 * serves it on a free port. Returns { url, stop(), log() }; stop() ends the server and removes the
 * temporary files.
 */
// `cycle`: walk demo people through the Year of Care cycle (every stage shown), as `make demo`
// does; off by default so a test's own fixtures are the only people past "due".
export async function startServer ({ patients = 300, extracts = [], env: extraEnv = {}, cycle = false } = {}) {
  const bin = process.env.CONCORD_BIN
  assert.ok(bin, 'set CONCORD_BIN to the concord binary (scripts/test.sh does)')
  const directory = await mkdtemp(path.join(tmpdir(), 'concord-e2e-'))
  const database = `sqlite://${path.join(directory, 'e2e.db')}`
  const env = {
    ...process.env,
    CONCORD_ASSETS: path.join(repository, 'assets/node_modules/nhsuk-frontend/dist/nhsuk'),
    CONCORD_LOG: 'info,sqlx=warn',
    NO_COLOR: '1',
    ...extraEnv
  }
  try {
    const demo = ['--database', database, 'demo', '--no-serve', '--patients', String(patients)]
    await run(bin, cycle ? demo : [...demo, '--no-cycle'], { cwd: repository, env })
    for (const extract of extracts) {
      // Exit code 2: imported, with some records rejected (as the fixture intends).
      const rejects = path.join(directory, 'rejects.ndjson')
      await run(bin, ['--database', database, 'import', '--synthetic', '--rejects', rejects, extract], { cwd: repository, env }, [0, 2])
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true })
    throw error
  }

  const server = spawn(bin, ['--database', database, 'serve', '--listen', '127.0.0.1:0'], {
    cwd: repository,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  server.stderr.on('data', (chunk) => { stderr += chunk })
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${stdout}\n${stderr}`)), 30_000)
    server.stdout.on('data', (chunk) => {
      stdout += chunk
      const found = stdout.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
      if (found) {
        clearTimeout(timer)
        resolve(found[1])
      }
    })
    server.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the server exited with ${code}:\n${stdout}\n${stderr}`))
    })
  }).catch(async (error) => {
    server.kill('SIGKILL')
    await rm(directory, { recursive: true, force: true })
    throw error
  })
  server.removeAllListeners('exit')

  return {
    url,
    // For the command line against the same database while the server runs (SQLite WAL).
    database,
    log: () => stderr,
    async stop () {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = once(server, 'exit')
        server.kill('SIGTERM')
        const timeout = setTimeout(() => server.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timeout)
      }
      await rm(directory, { recursive: true, force: true })
    }
  }
}

/**
 * Debian's Chromium in a fresh profile, through playwright-core (no downloaded browser).
 * Returns { context, newPage(), close() }. Pages record console errors for `checkPage`.
 */
export async function launchBrowser () {
  const profile = await mkdtemp(path.join(tmpdir(), 'concord-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  return {
    context,
    async newPage () {
      const page = await context.newPage()
      page.consoleErrors = []
      page.on('console', (message) => {
        if (message.type() === 'error') page.consoleErrors.push(message.text())
      })
      page.on('pageerror', (error) => page.consoleErrors.push(error.message))
      return page
    },
    async close () {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    }
  }
}

/**
 * Runs axe-core (WCAG 2.2 AA tags) on the page and asserts there are no violations, and that the
 * page logged no errors (CSP refusals, script failures). The only tolerated error is the design
 * system's web font from assets.nhs.uk, which our CSP refuses on purpose (the stylesheet falls
 * back to Arial).
 */
export async function checkPage (page, label = page.url(), { status = 200 } = {}) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze()
  const violations = results.violations.map((violation) =>
    `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)
  assert.deepEqual(violations, [], `axe-core found violations on ${label}`)
  assert.ok(results.passes.length > 10, `axe-core ran its rules on ${label}`)
  // An error page's own status is logged by Chromium as a failed load: that one is expected.
  const expectedFailure = `the server responded with a status of ${status} `
  const unexpected = page.consoleErrors.filter((text) => !text.includes('assets.nhs.uk/fonts') && !(status >= 400 && text.includes(expectedFailure)))
  assert.deepEqual(unexpected, [], `console errors on ${label}`)
  page.consoleErrors.length = 0
  return results
}

/** Opens a path and checks it (axe-core and console). Returns the response. */
export async function visit (page, base, route, { status = 200 } = {}) {
  const response = await page.goto(new URL(route, base).href)
  assert.equal(response.status(), status, `${route} answered ${response.status()}`)
  await checkPage(page, route, { status })
  return response
}

/** Signs in through the form, checking the sign-in page and the page it leads to. */
export async function signIn (page, base, role) {
  await visit(page, base, '/sign-in')
  await page.getByLabel('Username').fill(`demo.${role}`)
  await page.getByLabel('Password').fill(DEMO_PASSWORD)
  await Promise.all([page.waitForURL(new URL('/', base).href), page.getByRole('button', { name: 'Sign in' }).click()])
  await checkPage(page, `home for ${role}`)
}

/** Signs out with the header button, checking the signed-out page. */
export async function signOut (page) {
  await Promise.all([page.waitForURL(/\/sign-out$/), page.getByRole('button', { name: 'Sign out' }).click()])
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You have signed out')
  await checkPage(page, 'signed out')
}

/** A minimal SMTP server: accepts every message and keeps its envelope and data. */
/** `delay`: milliseconds before accepting each message (a slow relay, so a crash can land mid-send). */
export function smtpSink ({ delay = 0 } = {}) {
  const received = []
  const server = net.createServer((socket) => {
    let buffer = ''
    let data = null
    let envelope = { from: '', to: [] }
    const reply = (line) => socket.write(`${line}\r\n`)
    reply('220 sink.test ESMTP')
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8')
      let end
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (data !== null) {
          if (line === '.') {
            const message = { ...envelope, data: data.join('\n') }
            data = null
            envelope = { from: '', to: [] }
            const accept = () => { received.push(message); reply('250 queued') }
            if (delay) setTimeout(accept, delay)
            else accept()
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line)
          }
          continue
        }
        const verb = line.slice(0, 4).toUpperCase()
        if (verb === 'EHLO' || verb === 'HELO') reply('250 sink.test')
        else if (verb === 'MAIL') { envelope.from = line; reply('250 ok') } else if (verb === 'RCPT') { envelope.to.push(line); reply('250 ok') } else if (verb === 'DATA') { data = []; reply('354 go ahead') } else if (verb === 'QUIT') { reply('221 bye'); socket.end() } else reply('250 ok')
      }
    })
    socket.on('error', () => {})
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, received, close: () => server.close() })))
}
