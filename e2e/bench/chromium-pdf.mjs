// The documents benchmark's peer: a warm headless Chromium (one browser, one page, kept open)
// printing each of Concord's print-view pages to PDF, tagged and with an outline, as a browser
// would produce the same letters. Prints one JSON line: the milliseconds per document.
//   node e2e/bench/chromium-pdf.mjs DIR COUNT   (DIR holds 0.html … COUNT-1.html)
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

import { chromium } from 'playwright-core'

const [directory, countText] = process.argv.slice(2)
const count = Number(countText)
const profile = await mkdtemp(path.join(tmpdir(), 'concord-bench-chromium-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
const page = await context.newPage()
// Only the local files: the stylesheet's web font lives on assets.nhs.uk, which this machine
// cannot reach; refusing it at once keeps the browser from waiting on the network.
await page.route('**/*', (route) => route.request().url().startsWith('file:') ? route.continue() : route.abort())
const print = async (index) => {
  await page.goto(pathToFileURL(path.join(directory, `${index}.html`)).href, { waitUntil: 'load' })
  return page.pdf({ format: 'A4', printBackground: true, tagged: true, outline: true, preferCSSPageSize: true })
}
// Warm up: the first pages pay for starting the renderer and loading the stylesheet.
for (let index = 0; index < Math.min(10, count); index++) await print(index)
const milliseconds = []
let bytes = 0
for (let index = 0; index < count; index++) {
  const started = process.hrtime.bigint()
  const pdf = await print(index)
  milliseconds.push(Number(process.hrtime.bigint() - started) / 1e6)
  bytes += pdf.length
  if (index === 0) await writeFile(path.join(directory, 'chromium-sample.pdf'), pdf)
}
await context.close()
await rm(profile, { recursive: true, force: true })
console.log(JSON.stringify({ milliseconds, bytes }))
