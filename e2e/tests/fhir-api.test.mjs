// The FHIR R4 API on a running server, used as a partner organisation's system would: a client
// registered with `concord client create`, a token by OAuth 2.0 client credentials, the person
// found by NHS number with a POSTed search, their care plan and goals read. A partner sees only
// people who agreed to share with it (an explicit refusal hides them); every error is an
// OperationOutcome; the resources served validate with the independent fhir.resources package.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { startServer } from '../lib.mjs'

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

describe('the FHIR API', () => {
  let server
  const cli = (...args) => execFileSync(process.env.CONCORD_BIN, ['--database', server.database, ...args], { cwd: repository }).toString()

  before(async () => {
    server = await startServer({ cycle: true })
  })

  after(async () => {
    await server?.stop()
  })

  const token = async (id, secret) => {
    const response = await fetch(`${server.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret })
    })
    return { status: response.status, body: await response.json() }
  }

  const fhir = async (bearer, route, form) => {
    const response = await fetch(`${server.url}/fhir/${route}`, {
      method: form ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${bearer}`, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form ? new URLSearchParams(form) : undefined
    })
    assert.match(response.headers.get('content-type'), /^application\/fhir\+json/, route)
    return { status: response.status, body: await response.json() }
  }

  const validate = (resources) => JSON.parse(execFileSync(path.join(repository, 'scripts/fhir-validate.sh'), {
    input: JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) }),
    cwd: repository
  }).toString())

  test('a partner finds a consenting person by NHS number and reads their plan; others stay hidden', async () => {
    const metadata = await fetch(`${server.url}/fhir/metadata`).then((response) => response.json())
    assert.equal(metadata.resourceType, 'CapabilityStatement')
    assert.equal(metadata.fhirVersion, '4.0.1')

    const partners = JSON.parse(cli('report', 'organisations', '--format', 'json')).filter((organisation) => organisation.kind === 'partner')
    assert.ok(partners.length >= 2, 'the demo has a community service and a hospital')
    const client = JSON.parse(cli('client', 'create', '--org', partners[0].ods_code, '--name', 'Community EPR', '--scope', 'system/Patient.read system/CarePlan.read system/Goal.read'))
    assert.ok(client.client_id && client.client_secret)

    assert.equal((await token(client.client_id, 'wrong')).status, 401)
    assert.equal((await token(client.client_id, 'wrong')).body.error, 'invalid_client')
    const issued = await token(client.client_id, client.client_secret)
    assert.equal(issued.status, 200)
    assert.equal(issued.body.token_type, 'bearer')
    const bearer = issued.body.access_token

    const unauthorised = await fhir('not-a-token', 'Patient/_search', { identifier: 'https://fhir.nhs.uk/Id/nhs-number|9434765919' })
    assert.equal(unauthorised.status, 401)
    assert.equal(unauthorised.body.resourceType, 'OperationOutcome')
    for (const result of validate([metadata, unauthorised.body])) assert.deepEqual(result.errors, [], `${result.resourceType}`)
    const byGet = await fetch(`${server.url}/fhir/Patient?identifier=x`, { headers: { authorization: `Bearer ${bearer}` } })
    assert.equal(byGet.status, 405, 'NHS numbers are never searched in a URL')

    const plans = JSON.parse(cli('report', 'plans', '--format', 'json'))
    let shared = 0
    let hidden = 0
    for (const plan of plans) {
      const found = await fhir(bearer, 'Patient/_search', { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` })
      assert.equal(found.status, 200)
      assert.equal(found.body.type, 'searchset')
      if (found.body.total === 0) {
        hidden += 1
        continue
      }
      shared += 1
      const patient = found.body.entry[0].resource
      assert.deepEqual(patient.identifier[0], { system: 'https://fhir.nhs.uk/Id/nhs-number', value: plan.nhs_number })
      const carePlans = await fhir(bearer, `CarePlan?patient=Patient/${patient.id}`)
      assert.equal(carePlans.status, 200)
      const main = carePlans.body.entry.map((entry) => entry.resource).find((resource) => !resource.partOf)
      assert.equal(main.status, 'active')
      const readResponse = await fetch(`${server.url}/fhir/CarePlan/${main.id}`, { headers: { authorization: `Bearer ${bearer}` } })
      assert.equal(readResponse.headers.get('etag'), `W/"${plan.version}"`, 'the version is the ETag')
      const read = { body: await readResponse.json() }
      assert.equal(read.body.id, main.id)
      // Every version can be read: the history, newest first, and each version by its id.
      const history = await fhir(bearer, `CarePlan/${main.id}/_history`)
      assert.equal(history.body.type, 'history')
      const versions = history.body.entry.map((entry) => entry.resource.meta.versionId)
      assert.deepEqual(versions, [...Array(plan.version).keys()].map((index) => String(plan.version - index)))
      const first = await fhir(bearer, `CarePlan/${main.id}/_history/1`)
      assert.equal(first.body.meta.versionId, '1')
      assert.equal(first.body.status, 'completed', 'an older version is completed')
      assert.equal((await fhir(bearer, `CarePlan/${main.id}/_history/99`)).status, 404)
      const goal = await fhir(bearer, main.goal[0].reference)
      assert.equal(goal.body.resourceType, 'Goal')
      for (const result of validate([patient, ...carePlans.body.entry.map((entry) => entry.resource), goal.body])) {
        assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id}`)
      }
    }
    assert.ok(shared >= 1, `someone shares with ${partners[0].ods_code}`)
    assert.ok(hidden >= 1, 'someone who refused sharing is not found')

    const missing = await fhir(bearer, 'CarePlan/no-such-plan')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.resourceType, 'OperationOutcome')
    const unknown = await fhir(bearer, 'Observation/x')
    assert.equal(unknown.body.resourceType, 'OperationOutcome')
    for (const plan of plans) assert.ok(!server.log().includes(plan.nhs_number), 'no NHS number reaches the log')
  })

  const compartment = ['Condition', 'Observation', 'CarePlan', 'Goal', 'QuestionnaireResponse', 'DocumentReference', 'Consent', 'AuditEvent', 'Provenance']

  test("the practice's own system reads every resource type, pages through $everything and fetches the plan's PDF", async () => {
    const practice = JSON.parse(cli('report', 'organisations', '--format', 'json')).find((organisation) => organisation.kind === 'practice')
    const client = JSON.parse(cli('client', 'create', '--org', practice.ods_code, '--name', 'Practice integration', '--scope', 'system/*.read'))
    const bearer = (await token(client.client_id, client.client_secret)).body.access_token
    const plan = JSON.parse(cli('report', 'plans', '--format', 'json')).find((row) => row.status === 'agreed' && row.version >= 2)
    assert.ok(plan, 'the demo has an agreed plan in more than one version')
    const found = await fhir(bearer, 'Patient/_search', { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` })
    const patient = found.body.entry[0].resource

    const served = [patient]
    for (const type of compartment) {
      const searched = await fhir(bearer, `${type}/_search`, { patient: `Patient/${patient.id}`, _count: '500' })
      assert.equal(searched.status, 200, type)
      assert.equal(searched.body.type, 'searchset', type)
      const resources = searched.body.entry?.map((entry) => entry.resource) ?? []
      assert.ok(resources.every((resource) => resource.resourceType === type), type)
      if (['Condition', 'Observation', 'CarePlan', 'Goal', 'DocumentReference', 'Consent', 'AuditEvent', 'Provenance'].includes(type)) {
        assert.ok(resources.length > 0, `${type}: the person with an agreed plan has some`)
      }
      if (resources.length) {
        const one = await fhir(bearer, `${type}/${resources[0].id}`)
        assert.equal(one.status, 200, `${type} read`)
        assert.equal(one.body.id, resources[0].id)
      }
      served.push(...resources)
    }
    for (const result of validate(served)) assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id}`)
    const observation = served.find((resource) => resource.resourceType === 'Observation' && resource.valueQuantity)
    assert.equal(observation.valueQuantity.system, 'http://unitsofmeasure.org', 'UCUM units')
    assert.equal(observation.subject.reference, `Patient/${patient.id}`)
    const consent = served.find((resource) => resource.resourceType === 'Consent')
    assert.ok(['OPTIN', 'OPTOUT'].includes(consent.policyRule.coding[0].code))
    const provenance = served.filter((resource) => resource.resourceType === 'Provenance')
    assert.equal(provenance.length, plan.version, 'one Provenance per plan version')

    // The agreed plan's PDF, as made at agreement.
    const document = served.find((resource) => resource.resourceType === 'DocumentReference' && resource.status === 'current' && resource.type?.coding?.[0]?.code === '734163000')
    assert.ok(document, 'the current plan is a DocumentReference')
    const pdf = await fetch(document.content[0].attachment.url.replace(/^https?:\/\/[^/]+/, server.url), { headers: { authorization: `Bearer ${bearer}` } })
    assert.equal(pdf.status, 200)
    assert.equal(pdf.headers.get('content-type'), 'application/pdf')
    assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), '%PDF-')

    // $everything in pages of 7, by opaque next links that carry no identifier.
    let response = await fhir(bearer, `Patient/${patient.id}/$everything?_count=7`)
    assert.equal(response.status, 200)
    const total = response.body.total
    const everything = []
    const links = []
    for (;;) {
      everything.push(...(response.body.entry ?? []).map((entry) => entry.resource))
      const next = response.body.link?.find((link) => link.relation === 'next')?.url
      if (!next) break
      links.push(next)
      assert.ok(!next.includes(patient.id) && !next.includes(plan.nhs_number) && !next.includes('?'), `an opaque link: ${next}`)
      response = await fhir(bearer, next.replace(/^https?:\/\/[^/]+\/fhir\//, ''))
      assert.equal(response.status, 200)
    }
    assert.equal(everything.length, total, 'every page together is the whole')
    assert.ok(links.length >= 2, 'more than one page')
    assert.equal(new Set(everything.map((resource) => `${resource.resourceType}/${resource.id}`)).size, total, 'no resource twice')
    assert.equal(everything[0].resourceType, 'Patient')
    assert.ok(!everything.some((resource) => resource.resourceType === 'AuditEvent'), 'the audit trail is searched on its own')

    // A page link is its client's only; a filter the server does not apply is refused by name.
    const other = JSON.parse(cli('client', 'create', '--org', practice.ods_code, '--name', 'Another', '--scope', 'system/*.read'))
    const otherBearer = (await token(other.client_id, other.client_secret)).body.access_token
    const stolen = await fhir(otherBearer, links[0].replace(/^https?:\/\/[^/]+\/fhir\//, ''))
    assert.equal(stolen.status, 410)
    const filtered = await fhir(bearer, `Observation?patient=Patient/${patient.id}&code=http://loinc.org|4548-4`)
    assert.equal(filtered.status, 400)
    assert.match(filtered.body.issue[0].diagnostics, /"code"/)
    assert.equal((await fhir(bearer, `Observation?patient=Patient/${patient.id}&_count=x`)).status, 400)

    // Back to the GP record: the practice's system takes what Concord recorded, applies it, and
    // confirms; what it confirmed is not sent again.
    const gp = await fhir(bearer, `Patient/${patient.id}/$gp-record`)
    assert.equal(gp.status, 200)
    assert.equal(gp.body.type, 'transaction')
    assert.ok(gp.body.entry.length >= 2, 'results and the agreed plan at least')
    assert.ok(gp.body.entry.some((entry) => entry.resource.resourceType === 'DocumentReference' && entry.resource.content[0].attachment.data))
    for (const result of validate(gp.body.entry.map((entry) => entry.resource))) assert.deepEqual(result.errors, [], `${result.resourceType}`)
    const confirmation = {
      resourceType: 'Bundle',
      type: 'transaction-response',
      entry: gp.body.entry.map((entry, index) => ({ response: { status: '201 Created', location: `${entry.resource.resourceType}/gp-${index}/_history/1` } }))
    }
    const filing = await fetch(`${server.url}/fhir/Bundle/${gp.body.id}/$filed`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(confirmation)
    }).then((response) => response.json())
    assert.equal(filing.parameter[0].valueInteger, gp.body.entry.length)
    const nothingLeft = await fhir(bearer, `Patient/${patient.id}/$gp-record`)
    assert.equal(nothingLeft.body.entry?.length ?? 0, 0, 'everything filed')

    // Every read by the client is in the person's audit trail, with the client's organisation.
    const audit = await fhir(bearer, `AuditEvent?patient=Patient/${patient.id}&_count=500`)
    const byClient = audit.body.entry.map((entry) => entry.resource).filter((event) => event.agent[0].who.display === `client:${client.client_id}`)
    assert.ok(byClient.length >= compartment.length, 'each search was audited')
    assert.ok(byClient.every((event) => event.agent[1].who.identifier.value === practice.ods_code))
  })

  test('break-glass: a partner reads the plan of someone not sharing with it, with a reason, and it is recorded', async () => {
    const partners = JSON.parse(cli('report', 'organisations', '--format', 'json')).filter((organisation) => organisation.kind === 'partner')
    const client = JSON.parse(cli('client', 'create', '--org', partners[1].ods_code, '--name', 'Emergency department', '--scope', 'system/Patient.read system/CarePlan.read'))
    const bearer = (await token(client.client_id, client.client_secret)).body.access_token
    const plans = JSON.parse(cli('report', 'plans', '--format', 'json')).filter((row) => row.status === 'agreed')
    let hidden
    for (const plan of plans) {
      const found = await fhir(bearer, 'Patient/_search', { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` })
      if (found.body.total === 0) { hidden = plan; break }
    }
    assert.ok(hidden, 'someone does not share with this partner')
    const identifier = `https://fhir.nhs.uk/Id/nhs-number|${hidden.nhs_number}`
    const vague = await fhir(bearer, 'Patient/$break-glass', { identifier, reason: 'need it' })
    assert.equal(vague.status, 400, 'a reason is required')
    assert.match(vague.body.issue[0].diagnostics, /reason/)
    const granted = await fhir(bearer, 'Patient/$break-glass', { identifier, reason: 'Unconscious in resus; need the contingency plan now' })
    assert.equal(granted.status, 200)
    assert.equal(granted.body.resourceType, 'Parameters')
    for (const result of validate([granted.body, vague.body])) assert.deepEqual(result.errors, [], `${result.resourceType}`)
    const patientId = granted.body.parameter.find((parameter) => parameter.name === 'patient').valueReference.reference
    const carePlans = await fhir(bearer, `CarePlan?${new URLSearchParams({ patient: patientId })}`)
    assert.ok(carePlans.body.total >= 1, 'the plan is readable during break-glass')
    assert.ok(carePlans.body.entry.some((entry) => entry.resource.partOf), 'with its contingency plans')

    // Recorded with its reason, for the privacy officer and the person.
    const audit = JSON.parse(cli('report', 'break-glass', '--format', 'json'))
    const recorded = audit.find((row) => row.organisation === partners[1].ods_code)
    assert.ok(recorded, 'the break-glass is on the privacy officer\'s list')
    assert.equal(recorded.reason, 'Unconscious in resus; need the contingency plan now')
    assert.equal(recorded.reviewed_at, null)
  })

  test('a partner links its own plan into the overarching plan and updates it only with the current version', async () => {
    const partners = JSON.parse(cli('report', 'organisations', '--format', 'json')).filter((organisation) => organisation.kind === 'partner')
    const client = JSON.parse(cli('client', 'create', '--org', partners[0].ods_code, '--name', 'Physio system', '--scope', 'system/Patient.read system/CarePlan.read system/CarePlan.write'))
    const bearer = (await token(client.client_id, client.client_secret)).body.access_token
    let patient
    for (const plan of JSON.parse(cli('report', 'plans', '--format', 'json')).filter((row) => row.status === 'agreed')) {
      const found = await fhir(bearer, 'Patient/_search', { identifier: `https://fhir.nhs.uk/Id/nhs-number|${plan.nhs_number}` })
      if (found.body.total) { patient = found.body.entry[0].resource; break }
    }
    assert.ok(patient)
    const write = (method, route, body, headers = {}) => fetch(`${server.url}/fhir/${route}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json', ...headers },
      body: JSON.stringify(body)
    }).then(async (response) => ({ status: response.status, etag: response.headers.get('etag'), location: response.headers.get('location'), body: await response.json() }))
    const carePlan = (title) => ({
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      title,
      category: [{ text: 'Physiotherapy' }],
      description: 'Goal: walk to the shops with one stick.',
      subject: { reference: `Patient/${patient.id}` },
      author: { display: 'Riverside Community Physiotherapy' }
    })
    const created = await write('POST', 'CarePlan', carePlan('Walking with one stick'))
    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.etag, 'W/"1"')
    assert.match(created.location, /\/fhir\/CarePlan\/[^/]+\/_history\/1$/)
    const id = created.body.id
    const noMatch = await write('PUT', `CarePlan/${id}`, carePlan('Walking v2'))
    assert.equal(noMatch.status, 428, 'If-Match is required')
    assert.equal(noMatch.body.resourceType, 'OperationOutcome')
    const updated = await write('PUT', `CarePlan/${id}`, carePlan('Walking v2'), { 'if-match': created.etag })
    assert.equal(updated.status, 200)
    assert.equal(updated.etag, 'W/"2"')
    const stale = await write('PUT', `CarePlan/${id}`, carePlan('Walking v3'), { 'if-match': created.etag })
    assert.equal(stale.status, 412, 'a stale version is refused')
    const invalid = await write('POST', 'CarePlan', { ...carePlan(''), title: undefined })
    assert.equal(invalid.status, 400)
    assert.match(invalid.body.issue[0].diagnostics, /^title:/)
    const own = await write('PUT', `CarePlan/${patient.id}`, carePlan('not mine'), { 'if-match': 'W/"1"' })
    assert.equal(own.status, 404, "the practice's plan is not the partner's to change")
    const plans = await fhir(bearer, `CarePlan?patient=Patient/${patient.id}`)
    const titles = plans.body.entry.map((entry) => entry.resource.title)
    assert.ok(titles.includes('Walking v2') && !titles.includes('Walking v3'), titles.join(', '))
    for (const result of validate(plans.body.entry.map((entry) => entry.resource))) assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id}`)
  })

  test("bulk export: the practice's own system takes its people's data as NDJSON; nobody else can", async () => {
    const organisations = JSON.parse(cli('report', 'organisations', '--format', 'json'))
    const practice = organisations.find((organisation) => organisation.kind === 'practice')
    const partner = organisations.find((organisation) => organisation.kind === 'partner')
    const own = JSON.parse(cli('client', 'create', '--org', practice.ods_code, '--name', 'Practice warehouse', '--scope', 'system/*.read'))
    const bearer = (await token(own.client_id, own.client_secret)).body.access_token
    const kickOff = (bearerToken, query = '', prefer = 'respond-async') => fetch(`${server.url}/fhir/$export${query}`, {
      headers: { authorization: `Bearer ${bearerToken}`, prefer }
    })
    assert.equal((await kickOff(bearer, '', '')).status, 400, 'asynchronous only')
    assert.equal((await kickOff(bearer, '?_since=2020-01-01')).status, 400, 'unsupported parameters are named')
    const other = JSON.parse(cli('client', 'create', '--org', partner.ods_code, '--name', 'Hospital', '--scope', 'system/*.read'))
    const otherBearer = (await token(other.client_id, other.client_secret)).body.access_token
    assert.equal((await kickOff(otherBearer)).status, 403, "only the practice's own systems")

    const started = await kickOff(bearer)
    assert.equal(started.status, 202)
    const status = started.headers.get('content-location').replace(/^https?:\/\/[^/]+/, server.url)
    let manifest
    for (let tries = 0; !manifest && tries < 600; tries += 1) {
      const response = await fetch(status, { headers: { authorization: `Bearer ${bearer}` } })
      if (response.status === 200) manifest = await response.json()
      else {
        assert.equal(response.status, 202)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    assert.ok(manifest, 'the export completes')
    assert.equal(manifest.requiresAccessToken, true)
    const types = manifest.output.map((file) => file.type)
    for (const type of ['Patient', 'Condition', 'Observation', 'CarePlan', 'Goal']) assert.ok(types.includes(type), `${type} in ${types}`)
    assert.ok(!types.includes('AuditEvent'))
    const sample = []
    for (const file of manifest.output) {
      const url = file.url.replace(/^https?:\/\/[^/]+/, server.url)
      assert.equal((await fetch(url, { headers: { authorization: `Bearer ${otherBearer}` } })).status, 404, 'files are the client\'s own')
      const response = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } })
      assert.equal(response.headers.get('content-type'), 'application/fhir+ndjson')
      const lines = (await response.text()).split('\n').filter(Boolean)
      assert.equal(lines.length, file.count, file.type)
      const resources = lines.map((line) => JSON.parse(line))
      assert.ok(resources.every((resource) => resource.resourceType === file.type))
      if (file.type === 'Patient') {
        assert.ok(resources.every((resource) => resource.generalPractitioner[0].identifier.value === practice.ods_code), 'only the practice\'s people')
        assert.equal(new Set(resources.map((resource) => resource.id)).size, resources.length, 'each person once')
      }
      sample.push(...resources.slice(0, 60))
    }
    const patients = manifest.output.find((file) => file.type === 'Patient').count
    assert.ok(patients >= 100, `${patients} people exported`)
    for (const result of validate(sample)) assert.deepEqual(result.errors, [], `${result.resourceType}/${result.id}`)
  })
})
