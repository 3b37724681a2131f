// test_web.mjs: `juror web --gateway` in a real browser: a CURVE `jury serve`, the real gateway, Debian's chromium driven by playwright-core.
//
// Everything is real: the store is made with the `jury` command line, the
// coordinator and the gateway are the built binaries, and the page runs in
// /usr/bin/chromium (headless). Answers given in the page are checked where
// they end up: in the store (`jury export --format responses`, `jury dump`).
// The checks, in order (worker/WEB.md is the contract):
//   1. the page comes with WEB.md's security headers; a wrong web token gets
//      nothing (login refused, the API answers 401);
//   2. ana logs in with her web token (cookie HttpOnly, SameSite=Strict) and
//      answers three records with every question type (text edited from a
//      suggestion and reset, rating, label, multi-label, ranking by keyboard
//      and by buttons, spans selected with a DOM Range after non-BMP
//      characters), a chat field shown, submitted with the button, with
//      Ctrl+Enter and after a saved draft (stored as a draft first); submit
//      with nothing answered flags each required question and sends nothing;
//      she discards a fourth; the store holds exactly those values, span
//      offsets in code points; /api/session counts 3 submitted;
//   3. a screenshot of a record is written to $JURY_WEB_ARTIFACTS;
//   4. record text with <script>, <img onerror> and javascript: links in a
//      plain field, a markdown field, a chat turn, a suggestion, its agent, a
//      metadata value and the guidelines is shown as text and never runs;
//   5. CSRF token missing or stale: 403 ECSRF; a 3 MiB body 413, malformed
//      JSON 400, not JSON 415, a bad answer 422 naming the question, another
//      answer to a finished record 409, every error JSON;
//   6. bob's web token revoked while he works: 401 within seconds, the page
//      shows the login form, the old token no longer logs in;
//   7. the coordinator stopped: #reconnecting shows, an answer given meanwhile
//      is kept (503 kept:true) and reaches the store once it is back;
//   8. logout: the API answers 401, the session and its leases leave the
//      coordinator;
//   9. one annotator alone (juror web --key): the #token address logs in;
//  10. review, through a second gateway on dataset rev, whose records ana and
//      bob answered (imported) and `jury consolidate` rejected two of for
//      disagreeing: ana (an annotator) sees no Review switch and the review
//      API answers 403 EPERM; rita (`--role reviewer`) switches to Review by
//      keyboard, sees why v1 waits, every response in a table and the form
//      prefilled with the consolidation's answers, copies bob's with "Use
//      these answers" and accepts (a screenshot of the review page goes to
//      $JURY_WEB_ARTIFACTS); she skips v3, gets it again and rejects it with
//      a note; `jury export --format records` has bob's values as the final
//      ones with reviewed_by rita, and v3 rejected by her;
//   and no page errors, CSP violations or sanitizer reports anywhere, and both
//   servers exit 0 on SIGTERM. Known bugs are marked expectedFailure (xfail).
// Stops at the first failure with a clear message; every child is killed on
// exit (and by the kernel if this process dies: setpriv --pdeathsig).
//
// Environment (ctest sets it; defaults for a run by hand from the checkout):
//   JURY_BIN, JUROR_BIN   the binaries (default build/bin/jury, build/bin/juror)
//   JURY_NODE_DIR         where ops/setup ran `npm ci` (default build/node)
//   JURY_TEST_TMP         parent of the temporary store (default the OS's)
//   JURY_WEB_ARTIFACTS    where the screenshots go (default ./web-artifacts)
//   JURY_CHROMIUM         the browser (default /usr/bin/chromium)

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.JURY_SOURCE_DIR || path.resolve(HERE, '..', '..');
const JURY_BIN = process.env.JURY_BIN || path.join(SOURCE_DIR, 'build', 'bin', 'jury');
const JUROR_BIN = process.env.JUROR_BIN || path.join(SOURCE_DIR, 'build', 'bin', 'juror');
const NODE_DIR = process.env.JURY_NODE_DIR || path.join(SOURCE_DIR, 'build', 'node');
const TEST_TMP = process.env.JURY_TEST_TMP || os.tmpdir();
const ARTIFACTS = process.env.JURY_WEB_ARTIFACTS || path.resolve('web-artifacts');
const CHROMIUM = process.env.JURY_CHROMIUM || '/usr/bin/chromium';

// Every wait is bounded. The bounds are generous next to what a healthy
// build needs, because the same test runs against the ASan+UBSan build.
const UI_TIMEOUT_MS = 20000;     // a page reaction (a record shown, a form swapped)
const CUT_TIMEOUT_MS = 15000;    // a revoked token's session ended (the coordinator re-checks every 500 ms)
const RECONNECT_TIMEOUT_MS = 30000;
const CLI_TIMEOUT_MS = 60000;

const DATASET = 'web';
const T0 = Date.now();

// ---------------------------------------------------------------------------
// Checks: one line each; the first failure ends the run.

class CheckFailed extends Error {}

let passed = 0;
const diagnostics = [];  // functions printing what helps after a failure

function expect(cond, what) {
  if (!cond) throw new CheckFailed(what);
}

function expectEq(got, want, what) {
  if (!isDeepStrictEqual(got, want)) {
    throw new CheckFailed(`${what}:\n     got  ${JSON.stringify(got)}\n     want ${JSON.stringify(want)}`);
  }
}

// Runs check `name`. With expectedFailure (the reason: a known bug, as jurytest.py's
// expected_failure), a failure is reported as xfail and the run goes on, and a pass fails
// the run (XPASS: the bug is fixed, drop the marker).
async function check(name, fn, { expectedFailure } = {}) {
  const t = Date.now();
  const secs = () => ((Date.now() - t) / 1000).toFixed(2);
  let note;
  try {
    note = await fn();
  } catch (e) {
    const why = e instanceof CheckFailed ? e.message : (e && e.stack) || e;
    if (expectedFailure && e instanceof CheckFailed) {
      passed++;
      console.log(`xfail ${name} (${secs()} s): ${why} [expected: ${expectedFailure}]`);
      return;
    }
    console.log(`FAIL  ${name} (${secs()} s): ${why}`);
    e.reported = true;
    throw e;
  }
  if (expectedFailure) {
    const e = new CheckFailed(`XPASS ${name}: passes now; remove its expectedFailure marker`);
    console.log(e.message);
    e.reported = true;
    throw e;
  }
  passed++;
  console.log(`ok    ${name} (${secs()} s)${note ? ': ' + note : ''}`);
}

async function waitFor(pred, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await pred();
    if (last) return last;
    if (Date.now() >= deadline) throw new CheckFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Code points before UTF-16 index i of s: the unit of span offsets (SPEC: as Python's str counts).
const cp = (s, i) => [...s.slice(0, i)].length;

// ---------------------------------------------------------------------------
// Child processes: tied to this process, their output kept for the report.

const children = new Set();
const SETPRIV = fs.existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;
const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;

function startChild(label, bin, args, logDir) {
  // setpriv --pdeathsig: the kernel kills the child if this process dies
  // (a ctest timeout), as jurytest.py does with prctl in Python.
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.label = label;
  child.out = '';
  child.err = '';
  child.logPath = path.join(logDir, `${label}.log`);
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { child.out += d; fs.appendFileSync(child.logPath, d); });
  child.stderr.on('data', (d) => { child.err += d; fs.appendFileSync(child.logPath, d); });
  child.on('exit', () => children.delete(child));
  children.add(child);
  return child;
}

function tail(text, lines = 30) {
  return text.split('\n').slice(-lines).join('\n');
}

async function stopChild(child, timeoutMs = 20000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const r = await Promise.race([child.exited, sleep(timeoutMs).then(() => null)]);
  if (!r) {
    child.kill('SIGKILL');
    await child.exited;
    throw new CheckFailed(`${child.label} did not exit within ${timeoutMs / 1000} s of SIGTERM:\n${tail(child.err)}`);
  }
  return r;
}

function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone already */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAll(); process.exit(1); });
}

// `jury --store STORE ARGS...`: returns stdout; a non-zero exit fails the check with its stderr.
function jury(store, args, { input, okCodes = [0] } = {}) {
  const p = spawnSync(JURY_BIN, ['--store', store, ...args], { input, encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
  if (p.error) throw new CheckFailed(`jury ${args.join(' ')}: ${p.error.message}`);
  if (SANITIZER_RE.test(p.stderr)) throw new CheckFailed(`jury ${args.join(' ')}: sanitizer report:\n${p.stderr}`);
  if (!okCodes.includes(p.status)) {
    throw new CheckFailed(`jury ${args.join(' ')}: exit ${p.status}: ${p.stderr.trim()}`);
  }
  return p.stdout;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// The dataset: one question of each type, a plain, a markdown and a chat field.

const XSS = {
  // Each injection sets a different value, so a value that ran says where it came from.
  plain: 'Hi <script>window.__pwned=1</script> there <img src=x onerror="window.__pwned=2"> end',
  markdown: '*notes* <script>window.__pwned=3</script> and <img src=x onerror="window.__pwned=4"> ' +
    '[click me](javascript:window.__pwned=5) <a href="javascript:window.__pwned=6">link</a>',
  chat: '<script>window.__pwned=7</script><img src=x onerror="window.__pwned=8">',
  suggestion: '<script>window.__pwned=9</script> <img src=x onerror="window.__pwned=10">',
  agent: '<img src=x onerror="window.__pwned=11">',
  metadata: '<img src=x onerror="window.__pwned=12">',
  guidelines: '<img src=x onerror="window.__pwned=13"> <script>window.__pwned=14</script>',
};

const SETTINGS = {
  guidelines: 'Fix the **draft reply**, rate it, and mark order numbers and products.\n\n' + XSS.guidelines,
  fields: [
    { name: 'prompt', title: 'Customer message', type: 'text', use_markdown: false },
    { name: 'notes', title: 'Notes', type: 'text', required: false, use_markdown: true },
    { name: 'history', title: 'Conversation', type: 'chat', required: false },
  ],
  questions: [
    { name: 'reply', title: 'Corrected reply', type: 'text' },
    { name: 'quality', title: 'Quality', type: 'rating', values: [1, 2, 3, 4, 5] },
    { name: 'topic', title: 'Topic', type: 'label_selection', labels: { billing: 'Billing', shipping: 'Shipping', other: 'Other' } },
    { name: 'issues', title: 'Issues', type: 'multi_label_selection', labels: ['rude', 'wrong', 'vague'] },
    { name: 'best', title: 'Best reply', type: 'ranking', values: ['reply-a', 'reply-b', 'reply-c'] },
    { name: 'entities', title: 'Entities', type: 'span', field: 'prompt', labels: ['order-id', 'product'] },
  ],
  metadata: [{ name: 'source', type: 'terms', visible_for_annotators: true }],
  distribution: { min_submitted: 1, lease_seconds: 600 },
};

// r1..r3 are answered, r4 discarded, x1 holds the injections; f* are for bob and the reconnect.
// Non-BMP characters (2 UTF-16 units, 1 code point) stand before every span.
const RECORDS = [
  { id: 'r1', fields: { prompt: '😀 Hi, order 4417 never arrived. The blender was a gift 🎁.',
                        notes: 'Customer since **2019**.',
                        history: [{ role: 'user', content: 'Where is my order?' }, { role: 'assistant', content: 'Let me check that for you.' }] },
    metadata: { source: 'email' },
    suggestions: { reply: { value: 'Sorry about that! Your order is on its way.', score: 0.8, agent: 'draft-v1' } } },
  { id: 'r2', fields: { prompt: '🎉🎉 Where is parcel 8812? It held a kettle.',
                        history: [{ role: 'user', content: 'Parcel 8812?' }] },
    metadata: { source: 'chat' },
    suggestions: { reply: { value: 'Your parcel is delayed.', agent: 'draft-v1' }, topic: { value: 'billing' } } },
  { id: 'r3', fields: { prompt: '𝄞 The music box from order 5530 is broken.' },
    suggestions: { reply: { value: 'We will replace the music box.' } } },
  { id: 'r4', fields: { prompt: '👋 Please ignore this one, order 1111.' } },
  { id: 'x1', fields: { prompt: XSS.plain, notes: XSS.markdown, history: [{ role: 'user', content: XSS.chat }] },
    metadata: { source: XSS.metadata },
    suggestions: { reply: { value: XSS.suggestion, agent: XSS.agent } } },
];
for (let i = 1; i <= 20; i++) {
  RECORDS.push({ id: `f${i}`, fields: { prompt: `🙂 Filler ${i}: order ${9000 + i} for a toaster.` },
                 suggestions: { reply: { value: `Filler reply ${i}.` } } });
}
const RECORD = Object.fromEntries(RECORDS.map((r) => [r.id, r]));

// Dataset rev: the same questions, consolidated with a rule that two disagreeing annotators fail.
const REVIEW_DATASET = 'rev';
const REVIEW_SETTINGS = { ...SETTINGS, consolidation: { accept: { min_agreement: { topic: 1 } } } };
const REVIEW_PROMPTS = {
  v1: '🧾 Order 7001 arrived without the lamp.',
  v2: '🙂 Order 7002 was perfect, thanks.',
  v3: '📦 Box 7003 came crushed.',
};
// Code-point offsets of each [substring, label] in text.
function spansIn(text, marks) {
  return marks.map(([sub, label]) => {
    const i = text.indexOf(sub);
    expect(i >= 0, `test bug: "${sub}" not in ${JSON.stringify(text)}`);
    return { start: cp(text, i), end: cp(text, i) + [...sub].length, label };
  });
}
// What ana and bob answered (imported as their submitted responses): v1 and v3 disagree on the
// topic, so `jury consolidate` rejects them and they wait for a reviewer; v2 is accepted.
const REVIEW_ANSWERS = {
  v1: {
    ana: { reply: 'We will send the lamp today.', quality: 2, topic: 'billing', issues: ['wrong'],
           best: ['reply-b', 'reply-a', 'reply-c'], entities: spansIn(REVIEW_PROMPTS.v1, [['7001', 'order-id']]) },
    bob: { reply: 'Sorry! The lamp from order 7001 ships today.', quality: 4, topic: 'shipping', issues: ['rude', 'vague'],
           best: ['reply-c', 'reply-a', 'reply-b'], entities: spansIn(REVIEW_PROMPTS.v1, [['7001', 'order-id'], ['lamp', 'product']]) },
  },
  v2: {
    ana: { reply: 'Glad to hear it!', quality: 5, topic: 'other', issues: ['vague'], best: ['reply-a', 'reply-b', 'reply-c'], entities: [] },
    bob: { reply: 'Glad to hear it!', quality: 5, topic: 'other', issues: ['vague'], best: ['reply-a', 'reply-b', 'reply-c'], entities: [] },
  },
  v3: {
    ana: { reply: 'A new box is on its way.', quality: 3, topic: 'shipping', issues: ['wrong'], best: ['reply-a', 'reply-b', 'reply-c'],
           entities: spansIn(REVIEW_PROMPTS.v3, [['7003', 'order-id']]) },
    // Record text from annotators is untrusted too.
    bob: { reply: XSS.suggestion, quality: 1, topic: 'other', issues: ['vague'], best: ['reply-b', 'reply-c', 'reply-a'], entities: [] },
  },
};
const REVIEW_RECORDS = Object.entries(REVIEW_PROMPTS).map(([id, prompt]) => {
  const responses = {};
  for (const [who, values] of Object.entries(REVIEW_ANSWERS[id])) {
    for (const [q, value] of Object.entries(values)) (responses[q] = responses[q] || []).push({ value, user_id: who });
  }
  return { id, fields: { prompt }, responses };
});

// ---------------------------------------------------------------------------
// Page conventions (worker/WEB.md and the page's own selectors).

const SEL = {
  loginToken: '#login-token',
  loginSubmit: '#login-submit',
  loginError: '#login-error',
  submit: '#submit',
  discard: '#discard',
  draft: '#save-draft',
  logout: '#logout',
  progress: '#progress',
  reconnecting: '#reconnecting',
  question: (q) => `[data-question="${q}"]`,
  textInput: (q) => `[data-question="${q}"] textarea`,
  reset: (q) => `[data-question="${q}"] [data-action="reset"]`,
  rating: (q, v) => `[data-question="${q}"] button[data-value="${v}"]`,
  label: (q, l) => `[data-question="${q}"] button[data-label="${l}"]`,
  rankItems: (q) => `[data-question="${q}"] li[data-value]`,
  rankItem: (q, v) => `[data-question="${q}"] li[data-value="${v}"]`,
  rankMove: (q, v, dir) => `[data-question="${q}"] li[data-value="${v}"] [data-action="${dir}"]`,
  spanText: (q) => `[data-question="${q}"] .span-text`,
  spanLabel: (q, l) => `[data-question="${q}"] button[data-span-label="${l}"]`,
};

// Watches one page: the records /api/next returned, page errors, console errors and dialogs.
function watch(page, who) {
  const w = { who, records: [], last: null, pageErrors: [], consoleErrors: [], dialogs: [] };
  page.on('response', async (resp) => {
    if (!resp.url().endsWith('/api/next') || resp.status() !== 200) return;
    try {
      const j = await resp.json();
      if (j && j.record) { w.last = j.record; w.records.push(j.record.id); }
    } catch { /* the page went away */ }
  });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') w.consoleErrors.push(m.text()); });
  page.on('dialog', (d) => { w.dialogs.push(`${d.type()}: ${d.message()}`); d.accept().catch(() => {}); });
  diagnostics.push(() => {
    console.log(`--- ${who}: records from /api/next: ${w.records.join(' ') || '(none)'}`);
    if (w.pageErrors.length) console.log(`--- ${who}: page errors:\n${w.pageErrors.join('\n')}`);
    if (w.consoleErrors.length) console.log(`--- ${who}: console errors:\n${w.consoleErrors.join('\n')}`);
    if (w.dialogs.length) console.log(`--- ${who}: dialogs:\n${w.dialogs.join('\n')}`);
  });
  return w;
}

// Waits until the page shows record `id` (the span field's text is in .span-text).
async function waitShown(page, w, id) {
  const want = RECORD[id].fields.prompt;
  await waitFor(async () => {
    if (!w.last || w.last.id !== id) return false;
    const text = await page.locator(SEL.spanText('entities')).first().textContent({ timeout: 1000 }).catch(() => null);
    return text !== null && text.includes(want);
  }, UI_TIMEOUT_MS, `record ${id} to be shown (records from /api/next so far: ${w.records.join(' ') || 'none'})`);
}

// A same-origin request from inside the page (the browser adds the cookie and Origin).
async function api(page, method, url, { body, csrf, contentType = 'application/json', raw } = {}) {
  return page.evaluate(async ({ method, url, body, csrf, contentType, raw }) => {
    const headers = {};
    if (contentType) headers['Content-Type'] = contentType;
    if (csrf) headers['X-CSRF-Token'] = csrf;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    try {
      const r = await fetch(url, { method, headers, body: method === 'GET' ? undefined : payload, credentials: 'same-origin' });
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      return { status: r.status, json, text: text.slice(0, 500), type: r.headers.get('content-type') };
    } catch (e) {
      return { status: 0, error: String(e) };
    }
  }, { method, url, body, csrf, contentType, raw });
}

async function login(page, token) {
  await page.locator(SEL.loginToken).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await page.fill(SEL.loginToken, token);
  const resp = page.waitForResponse((r) => r.url().endsWith('/api/login'), { timeout: UI_TIMEOUT_MS });
  await page.click(SEL.loginSubmit);
  return resp;
}

// Clicks (or runs `act`) and returns the /api/respond exchange it caused: {status, json, sent}.
async function respond(page, act) {
  const wait = page.waitForResponse((r) => r.url().endsWith('/api/respond') && r.request().method() === 'POST',
                                    { timeout: UI_TIMEOUT_MS });
  await act();
  const r = await wait;
  let json = null;
  try { json = await r.json(); } catch { /* not JSON */ }
  let sent = null;
  try { sent = r.request().postDataJSON(); } catch { /* not JSON */ }
  return { status: r.status(), json, sent };
}

async function rankOrder(page, q) {
  return page.$$eval(SEL.rankItems(q), (els) => els.map((e) => e.getAttribute('data-value')));
}

// Selects `sub` inside the question's .span-text with a DOM Range, as a mouse drag would.
async function selectText(page, q, sub) {
  const ok = await page.evaluate(({ sel, sub }) => {
    const root = document.querySelector(sel);
    if (!root) return 'no ' + sel;
    const nodes = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    const all = nodes.map((n) => n.data).join('');
    const at = all.indexOf(sub);
    if (at < 0) return `"${sub}" is not in the text of ${sel}: ${JSON.stringify(all)}`;
    const end = at + sub.length;
    const range = document.createRange();
    let pos = 0;
    let started = false;
    for (const n of nodes) {
      const len = n.data.length;
      if (!started && at < pos + len) { range.setStart(n, at - pos); started = true; }
      if (started && end <= pos + len) { range.setEnd(n, end - pos); break; }
      pos += len;
    }
    const s = window.getSelection();
    s.removeAllRanges();
    s.addRange(range);
    return s.toString() === sub ? true : `selection is ${JSON.stringify(s.toString())}`;
  }, { sel: SEL.spanText(q), sub });
  expect(ok === true, `selecting "${sub}": ${ok}`);
}

// Expected span answer for substrings of the record's prompt, offsets in code points.
function spans(id, marks) {
  const text = RECORD[id].fields.prompt;
  return marks.map(([sub, label]) => {
    const i = text.indexOf(sub);
    expect(i >= 0, `test bug: "${sub}" not in ${id}`);
    return { start: cp(text, i), end: cp(text, i) + [...sub].length, label };
  });
}

async function markSpans(page, marks) {
  for (const [sub, label] of marks) {
    await selectText(page, 'entities', sub);
    await page.click(SEL.spanLabel('entities', label));
  }
}

async function pressed(page, sel) {
  return page.locator(sel).getAttribute('aria-pressed');
}

// Answers every question of the shown record; returns the values expected in the store.
async function answerAll(page, id, plan) {
  const rec = RECORD[id];
  const textarea = page.locator(SEL.textInput('reply'));
  const suggestion = rec.suggestions && rec.suggestions.reply ? rec.suggestions.reply.value : '';
  expectEq(await textarea.inputValue(), suggestion, `${id}: the reply is prefilled with the suggestion`);
  let reply;
  if (plan.replace !== undefined) {
    await textarea.fill(plan.replace);
    reply = plan.replace;
  } else {
    await textarea.focus();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(plan.append);
    reply = suggestion + plan.append;
  }
  expectEq(await textarea.inputValue(), reply, `${id}: the reply after editing`);

  await page.click(SEL.rating('quality', plan.quality));
  expectEq(await pressed(page, SEL.rating('quality', plan.quality)), 'true', `${id}: rating ${plan.quality} aria-pressed`);

  await page.click(SEL.label('topic', plan.topic));
  for (const l of ['billing', 'shipping', 'other']) {
    expectEq(await pressed(page, SEL.label('topic', l)), String(l === plan.topic), `${id}: topic ${l} aria-pressed`);
  }

  for (const l of plan.issuesClicks) await page.click(SEL.label('issues', l));
  const issues = ['rude', 'wrong', 'vague'].filter((l) => plan.issuesClicks.filter((c) => c === l).length % 2 === 1);
  for (const l of ['rude', 'wrong', 'vague']) {
    expectEq(await pressed(page, SEL.label('issues', l)), String(issues.includes(l)), `${id}: issues ${l} aria-pressed`);
  }

  expectEq(await rankOrder(page, 'best'), ['reply-a', 'reply-b', 'reply-c'], `${id}: the ranking starts in the question's order`);
  for (const [how, value, dir] of plan.moves) {
    if (how === 'key') {
      // Alt+Arrow twice in a row on the same item: focus must stay on the moved item.
      await page.locator(SEL.rankItem('best', value)).focus();
      await page.keyboard.press(dir === 'up' ? 'Alt+ArrowUp' : 'Alt+ArrowDown');
    } else if (how === 'key-again') {
      await page.keyboard.press(dir === 'up' ? 'Alt+ArrowUp' : 'Alt+ArrowDown');
    } else {
      await page.click(SEL.rankMove('best', value, dir));
    }
  }
  const best = await rankOrder(page, 'best');
  expectEq(best, plan.best, `${id}: the ranking after the moves ${JSON.stringify(plan.moves)}`);

  await markSpans(page, plan.spans);
  return { reply, quality: plan.quality, topic: plan.topic, issues, best: plan.best, entities: spans(id, plan.spans) };
}

// ---------------------------------------------------------------------------
// The store side.

// ana's (or anyone's) responses from `jury export --format responses`: record -> {status, values}.
function responsesOf(store, annotator) {
  const out = jury(store, ['export', DATASET, '--format', 'responses']);
  const got = {};
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line);
    if (r.annotator === annotator) got[r.record] = { status: r.status, values: r.values };
  }
  return got;
}

// Multi-label answers are sets: compare them sorted in the questions' label order.
function normalise(resps) {
  const order = ['rude', 'wrong', 'vague'];
  const out = {};
  for (const [id, r] of Object.entries(resps)) {
    const values = r.values ? { ...r.values } : r.values;
    if (values && Array.isArray(values.issues)) values.issues = [...values.issues].sort((a, b) => order.indexOf(a) - order.indexOf(b));
    out[id] = { status: r.status, values };
  }
  return out;
}

// `jury export DATASET --format records`: record id -> its line.
function exportRecords(store, dataset) {
  const out = jury(store, ['export', dataset, '--format', 'records']);
  const got = {};
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const r = JSON.parse(line);
    got[r.id] = r;
  }
  return got;
}

function liveStatus(store) {
  return JSON.parse(jury(store, ['status', DATASET, '--json'])).live;
}

// ---------------------------------------------------------------------------

function loadPlaywright() {
  // ops/setup runs `npm ci` in build/node (JURY_NODE_DIR); a `npm ci` in tests/web works too.
  for (const dir of [NODE_DIR, HERE]) {
    try {
      return createRequire(path.join(dir, 'package.json'))('playwright-core');
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new CheckFailed(`playwright-core is not installed in ${NODE_DIR}/node_modules: run ops/setup (it runs npm ci there)`);
}

async function main() {
  const { chromium } = loadPlaywright();
  for (const [what, p] of [['jury', JURY_BIN], ['juror', JUROR_BIN], ['chromium', CHROMIUM]]) {
    expect(fs.existsSync(p), `${what} not found at ${p}`);
  }
  fs.mkdirSync(TEST_TMP, { recursive: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) if (/^failure-.*\.png$/.test(f)) fs.rmSync(path.join(ARTIFACTS, f));
  const tmp = fs.mkdtempSync(path.join(TEST_TMP, 'jury-web-test-'));
  const store = path.join(tmp, 'store');
  let ok = false;
  let browser = null;
  let serve = null;
  let web = null;
  const pages = [];
  diagnostics.push(() => {
    console.log(`--- store and logs kept in ${tmp}`);
    for (const c of [serve, web]) if (c) console.log(`--- ${c.label} (${c.logPath}), last lines:\n${tail(c.err + c.out)}`);
  });

  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const tokens = {};

  const startServe = async () => {
    const c = startChild('serve', JURY_BIN, ['--store', store, 'serve', '--bind', endpoint, '--log-level', 'debug'], tmp);
    await waitFor(async () => {
      expect(c.exitCode === null, `jury serve exited with ${c.exitCode} at start:\n${tail(c.err)}`);
      const live = liveStatus(store);
      return live && live.pid === c.pid ? live : false;
    }, UI_TIMEOUT_MS, 'jury serve to write its live status');
    return c;
  };

  try {
    await check('store: dataset with every question type, 25 records, gateway, ana and bob with web tokens', async () => {
      const settingsFile = path.join(tmp, 'settings.json');
      fs.writeFileSync(settingsFile, JSON.stringify(SETTINGS));
      jury(store, ['dataset', 'create', DATASET, '--settings', settingsFile]);
      jury(store, ['import', DATASET, '-'], { input: RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n' });
      jury(store, ['keygen']);
      jury(store, ['annotator', 'add', 'gw', '--role', 'gateway', '--out', path.join(tmp, 'gw.key'), '--endpoint', endpoint]);
      for (const who of ['ana', 'bob']) {
        const out = jury(store, ['annotator', 'add', who, '--datasets', DATASET, '--web-token',
                                 '--out', path.join(tmp, `${who}.key`), '--endpoint', endpoint]);
        const m = out.match(/^web-token: (\S+)$/m);
        expect(m, `jury annotator add ${who} --web-token printed no "web-token: NAME:SECRET" line:\n${out}`);
        expect(m[1].startsWith(`${who}:`), `${who}'s web token does not start with "${who}:": ${m[1].slice(0, who.length + 1)}...`);
        tokens[who] = m[1];
      }
      const st = JSON.parse(jury(store, ['status', DATASET, '--json']));
      expectEq(st.records, RECORDS.length, 'records in the store');
    });

    await check(`jury serve (CURVE) on ${endpoint}`, async () => {
      serve = await startServe();
    });

    let base;
    await check('juror web --gateway prints where it serves', async () => {
      web = startChild('juror-web', JUROR_BIN, ['web', '--gateway', '--key', path.join(tmp, 'gw.key'),
                                                '--dataset', DATASET, '--listen', '127.0.0.1:0'], tmp);
      const m = await waitFor(() => {
        expect(web.exitCode === null, `juror web exited with ${web.exitCode}:\n${tail(web.err)}`);
        // A gateway says "gateway for dataset DS at URL"; one annotator "serving dataset DS as NAME at URL".
        return web.out.match(/^juror web: (?:gateway for|serving) dataset (\S+) (?:.*? )?at (http:\/\/\S+)/m);
      }, UI_TIMEOUT_MS, 'the "juror web: gateway for dataset ... at http://..." line');
      expectEq(m[1], DATASET, 'the dataset named in the line');
      base = new URL(m[2]).origin;
      expect(/^http:\/\/127\.0\.0\.1:[1-9][0-9]*$/.test(base), `the address ${base} is not 127.0.0.1 with the port picked`);
      return m[0];
    });

    await check('GET / serves the page with the security headers of WEB.md; another Origin gets 403 EORIGIN', async () => {
      const r = await fetch(base + '/');
      expectEq(r.status, 200, 'GET / status');
      const h = (n) => r.headers.get(n);
      expect((h('content-type') || '').startsWith('text/html'), `Content-Type is ${h('content-type')}`);
      expectEq(h('x-content-type-options'), 'nosniff', 'X-Content-Type-Options');
      expectEq(h('x-frame-options'), 'DENY', 'X-Frame-Options');
      expectEq(h('referrer-policy'), 'no-referrer', 'Referrer-Policy');
      expect((h('cache-control') || '').includes('no-store'), `Cache-Control is ${h('cache-control')}`);
      const csp = h('content-security-policy') || '';
      for (const d of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"]) {
        expect(csp.includes(d), `Content-Security-Policy lacks ${d}: ${csp}`);
      }
      const x = await fetch(base + '/etc/passwd');
      expectEq(x.status, 404, 'GET /etc/passwd status');
      // A page elsewhere posting to the gateway (a login attempt) is refused before anything else.
      const o = await fetch(base + '/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' },
                                                   body: JSON.stringify({ token: 'ana:x' }) });
      expectEq([o.status, (await o.json()).error], [403, 'EORIGIN'], 'POST /api/login from another origin');
    });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const newPage = async (who) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await ctx.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      const w = watch(page, who);
      pages.push({ page, w });
      await page.goto(base + '/');
      return { page, w };
    };

    // 1. A wrong token gets nothing.
    const eve = await newPage('eve');
    await check('wrong token: login refused with #login-error, GET /api/session and POST /api/next 401', async () => {
      const resp = await login(eve.page, 'ana:' + 'A'.repeat(43));
      expectEq(resp.status(), 401, 'POST /api/login status with a wrong secret');
      await eve.page.locator(SEL.loginError).waitFor({ state: 'visible' });
      const s = await api(eve.page, 'GET', '/api/session');
      expectEq([s.status, s.json && s.json.error], [401, 'EAUTH'], 'GET /api/session without a session');
      const n = await api(eve.page, 'POST', '/api/next', { body: {}, csrf: 'x' });
      expectEq([n.status, n.json && n.json.error], [401, 'EAUTH'], 'POST /api/next without a session');
      expectEq(eve.w.records, [], 'records shown to a wrong token');
    });
    await eve.page.context().close();

    // 2. ana answers r1..r3 and discards r4.
    const ana = await newPage('ana');
    const expected = {};
    await check('ana logs in through the gateway with her web token', async () => {
      const resp = await login(ana.page, tokens.ana);
      expectEq(resp.status(), 200, 'POST /api/login status');
      const j = await resp.json();
      expectEq([j.annotator, j.dataset, j.mode], ['ana', DATASET, 'gateway'], 'the login reply');
      expect(typeof j.csrf === 'string' && j.csrf.length >= 16, 'the login reply carries a CSRF token');
      const cookies = await ana.page.context().cookies();
      const c = cookies.find((k) => k.name === 'jury_session');
      expect(c, `no jury_session cookie: ${JSON.stringify(cookies.map((k) => k.name))}`);
      expectEq([c.httpOnly, c.sameSite, c.path], [true, 'Strict', '/'], 'the cookie is HttpOnly, SameSite=Strict, Path=/');
      await waitShown(ana.page, ana.w, 'r1');
    });

    await check('r1: the chat field and every question answered, submitted with #submit', async () => {
      const { page } = ana;
      const body = await page.locator('body').textContent();
      for (const t of ['Where is my order?', 'Let me check that for you.']) expect(body.includes(t), `the chat turn "${t}" is not shown`);
      // use_markdown: the notes field renders **2019** bold; the plain prompt is text as it is.
      expectEq(await page.locator('[data-field="notes"] strong').allTextContents(), ['2019'], 'bold text in the markdown field');
      expectEq(await page.locator('[data-field="prompt"]').textContent().then((t) => t.includes(RECORD.r1.fields.prompt)), true,
               'the plain field shows its text');
      const plan = {
        append: ' We will refund you.', quality: 4, topic: 'shipping', issuesClicks: ['rude', 'wrong', 'vague', 'wrong'],
        // [c up by keyboard, up again] -> c a b; [c down by button] -> a c b
        moves: [['key', 'reply-c', 'up'], ['key-again', 'reply-c', 'up'], ['button', 'reply-c', 'down']],
        best: ['reply-a', 'reply-c', 'reply-b'],
        spans: [['4417', 'order-id'], ['blender', 'product']],
      };
      expected.r1 = { status: 'submitted', values: await answerAll(page, 'r1', plan) };
      const shot = path.join(ARTIFACTS, 'juror-web.png');
      // The guidelines (which hold injections of their own, checked below) folded, as an annotator
      // who has read them keeps them.
      await page.locator('#guidelines').evaluate((d) => { d.open = false; });
      await page.setViewportSize({ width: 1280, height: 1800 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot });
      await page.setViewportSize({ width: 1280, height: 1000 });
      console.log(`      screenshot: ${shot}`);
      const r = await respond(page, () => page.click(SEL.submit));
      expectEq([r.status, r.json && r.json.ok, r.json && r.json.status], [200, true, 'submitted'], `POST /api/respond (sent ${JSON.stringify(r.sent)})`);
      await waitShown(page, ana.w, 'r2');
    });

    await check('r2: suggested label prefilled, text reset to the suggestion, submitted with Ctrl+Enter', async () => {
      const { page } = ana;
      expectEq(await pressed(page, SEL.label('topic', 'billing')), 'true', 'the suggested topic (billing) is preselected');
      const textarea = page.locator(SEL.textInput('reply'));
      await textarea.fill('something else entirely');
      await page.click(SEL.reset('reply'));
      expectEq(await textarea.inputValue(), RECORD.r2.suggestions.reply.value, 'the reply after [data-action=reset]');
      const plan = {
        replace: 'Your parcel 8812 ships today.', quality: 2, topic: 'shipping', issuesClicks: ['wrong'],
        // [a down by button] -> b a c; [a down by keyboard] -> b c a
        moves: [['button', 'reply-a', 'down'], ['key', 'reply-a', 'down']],
        best: ['reply-b', 'reply-c', 'reply-a'],
        spans: [['8812', 'order-id'], ['kettle', 'product']],
      };
      expected.r2 = { status: 'submitted', values: await answerAll(page, 'r2', plan) };
      const r = await respond(page, () => page.locator(SEL.textInput('reply')).press('Control+Enter'));
      expectEq([r.status, r.json && r.json.status], [200, 'submitted'], `POST /api/respond (sent ${JSON.stringify(r.sent)})`);
      await waitShown(page, ana.w, 'r3');
    });

    await check('r3: a draft saved (in the store as a draft), then submitted', async () => {
      const { page } = ana;
      const textarea = page.locator(SEL.textInput('reply'));
      await textarea.fill('Draft: we will replace it.');
      await page.click(SEL.rating('quality', 5));
      const d = await respond(page, () => page.click(SEL.draft));
      expectEq([d.status, d.json && d.json.status], [200, 'draft'], `POST /api/respond for the draft (sent ${JSON.stringify(d.sent)})`);
      expect(d.json && Number.isInteger(d.json.lease_expires) && d.json.lease_expires > Date.now(),
             `a draft's reply carries the extended lease_expires (ms): ${JSON.stringify(d.json)}`);
      expect(d.sent && d.sent.values && d.sent.values.reply === 'Draft: we will replace it.' && d.sent.values.quality === 5,
             `the draft sent holds the reply and the rating given: ${JSON.stringify(d.sent)}`);
      const stored = responsesOf(store, 'ana').r3;
      expectEq(stored, { status: 'draft', values: d.sent.values }, 'r3 in the store after the draft');
      // The draft keeps the record on screen, answers as they were.
      expectEq(ana.w.last.id, 'r3', 'the record shown after a draft');
      expectEq(await textarea.inputValue(), 'Draft: we will replace it.', 'the reply after the draft');
      await textarea.fill(RECORD.r3.suggestions.reply.value);
      const plan = {
        append: ' Sorry!', quality: 3, topic: 'other', issuesClicks: ['vague'],
        moves: [['button', 'reply-b', 'up']],
        best: ['reply-b', 'reply-a', 'reply-c'],
        spans: [['music box', 'product'], ['5530', 'order-id']],
      };
      expected.r3 = { status: 'submitted', values: await answerAll(page, 'r3', plan) };
      const r = await respond(page, () => page.click(SEL.submit));
      expectEq([r.status, r.json && r.json.status], [200, 'submitted'], `POST /api/respond (sent ${JSON.stringify(r.sent)})`);
      await waitShown(page, ana.w, 'r4');
    });

    await check('r4: #submit with nothing answered marks each required question, sends nothing', async () => {
      const { page } = ana;
      let sent = 0;
      const count = (req) => { if (req.url().endsWith('/api/respond')) sent++; };
      page.on('request', count);
      await page.click(SEL.submit);
      await page.locator(`${SEL.question('reply')} .question-error`).waitFor({ state: 'visible' });
      await sleep(300);
      page.off('request', count);
      const flagged = await page.$$eval('[data-question]', (els) => els
        .filter((e) => { const x = e.querySelector('.question-error'); return x && !x.hidden && x.textContent.trim() !== ''; })
        .map((e) => e.getAttribute('data-question')));
      // A ranking always shows an order, which is an answer.
      expectEq(flagged, ['reply', 'quality', 'topic', 'issues', 'entities'], 'questions showing .question-error');
      expectEq(sent, 0, 'POST /api/respond requests sent');
      expectEq(ana.w.last.id, 'r4', 'the record shown');
    });

    await check('r4: discarded with #discard', async () => {
      const r = await respond(ana.page, () => ana.page.click(SEL.discard));
      expectEq([r.status, r.json && r.json.status], [200, 'discarded'], `POST /api/respond (sent ${JSON.stringify(r.sent)})`);
      expected.r4 = { status: 'discarded', values: r.sent && r.sent.values !== undefined ? r.sent.values : {} };
      await waitShown(ana.page, ana.w, 'x1');
    });

    await check('store: exactly ana\'s answers, the same values, span offsets in code points', async () => {
      const got = normalise(responsesOf(store, 'ana'));
      const want = normalise(expected);
      // A discard's values are not the point: whatever the page sent for it must be what is stored.
      expectEq(got, want, 'jury export --format responses, ana');
      const dump = jury(store, ['dump', DATASET]).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const state = Object.fromEntries(dump.map((r) => [r.id, r.status]));
      expectEq([state.r1, state.r2, state.r3, state.r4], ['completed', 'completed', 'completed', 'pending'], 'record states in jury dump');
      return `r1 spans ${JSON.stringify(want.r1.values.entities)}`;
    });

    await check('progress: GET /api/session says 3 submitted', async () => {
      const s = await api(ana.page, 'GET', '/api/session');
      expectEq(s.status, 200, 'GET /api/session status');
      expectEq([s.json.annotator, s.json.mode, s.json.connected], ['ana', 'gateway', true], 'the session');
      const p = s.json.progress;
      expectEq(p && [p.submitted, p.records], [3, RECORDS.length], `progress submitted, records (${JSON.stringify(p)})`);
      // completed is the dataset's count as of the last batch (juror.h, juror_progress): 0 when
      // r1..r5 were fetched; 3 if the worker comes to count the records its answers completed.
      expect(p.completed === 0 || p.completed === 3, `progress.completed is ${p.completed}, neither 0 (as of the batch) nor 3`);
      expectEq(s.json.settings && s.json.settings.questions.map((q) => q.type),
               ['text', 'rating', 'label_selection', 'multi_label_selection', 'ranking', 'span'], 'the settings\' question types');
      const shown = await ana.page.locator(SEL.progress).textContent().catch(() => null);
      return `#progress reads ${JSON.stringify(shown && shown.trim())}`;
    });

    await check('an identical answer to r1 again: accepted (idempotent resubmit), progress.submitted stays 3', async () => {
      const { json: { csrf } } = await api(ana.page, 'GET', '/api/session');
      const again = await api(ana.page, 'POST', '/api/respond', { body: { record: 'r1', status: 'submitted', values: expected.r1.values }, csrf });
      expectEq([again.status, again.json && again.json.status], [200, 'submitted'], `resubmitting r1 unchanged (${again.text})`);
      expectEq(normalise(responsesOf(store, 'ana')), normalise(expected), 'ana\'s responses in the store');
      const s = await api(ana.page, 'GET', '/api/session');
      expectEq(s.json.progress.submitted, 3, `progress.submitted after the resubmit (${JSON.stringify(s.json.progress)})`);
    });

    // 4. Injections in every place record text can be shown.
    await check('x1: <script>, <img onerror> and javascript: links in every field, suggestion, metadata and guidelines stay text', async () => {
      const { page } = ana;
      await sleep(1000);
      const r = await page.evaluate(() => {
        const own = (s) => (s.getAttribute('src') || '').replace(/^.*\//, '') === 'app.js';
        const onAttrs = [];
        for (const el of document.querySelectorAll('*')) {
          for (const a of el.attributes) if (/^on/i.test(a.name)) onAttrs.push(`${el.tagName}[${a.name}]`);
        }
        return {
          pwned: window.__pwned,
          scripts: [...document.querySelectorAll('script')].filter((s) => !own(s)).map((s) => s.outerHTML),
          imgs: [...document.querySelectorAll('img, svg, iframe, object, embed')].map((e) => e.outerHTML),
          jsLinks: [...document.querySelectorAll('[href], [src], [action], [formaction]')]
            .filter((e) => /^\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || e.getAttribute('formaction') || ''))
            .map((e) => e.outerHTML),
          onAttrs,
          text: document.body.textContent,
          textareas: [...document.querySelectorAll('textarea')].map((t) => t.value),
        };
      });
      expectEq(r.pwned, undefined, 'window.__pwned (an injection ran; its number says which)');
      expectEq(r.scripts, [], 'script elements other than the page\'s own');
      expectEq(r.imgs, [], 'img/svg/iframe/object/embed elements');
      expectEq(r.jsLinks, [], 'elements with a javascript: URL');
      expectEq(r.onAttrs, [], 'elements with an on* attribute');
      const literal = {
        'the plain field': ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=2">'],
        'the markdown field': ['<script>window.__pwned=3</script>', '<img src=x onerror="window.__pwned=4">'],
        'the chat turn': [XSS.chat],
        'the guidelines': ['<img src=x onerror="window.__pwned=13">', '<script>window.__pwned=14</script>'],
        'the suggestion\'s agent': [XSS.agent],
        'the metadata value': [XSS.metadata],
      };
      for (const [where, strings] of Object.entries(literal)) {
        for (const s of strings) expect(r.text.includes(s), `${where}: the literal text ${s} is not shown`);
      }
      expect(r.textareas.includes(XSS.suggestion), `the suggestion is not the reply's text: ${JSON.stringify(r.textareas)}`);
      const dialogs = ana.w.dialogs.filter((d) => !d.startsWith('confirm'));
      expectEq(dialogs, [], 'alert/prompt dialogs');
      const csp = ana.w.consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e));
      expectEq(csp, [], 'CSP violations reported in the console (the page tried to run or load injected content)');
      await ana.page.screenshot({ path: path.join(ARTIFACTS, 'juror-web-xss.png'), fullPage: true });
      const d = await respond(page, () => page.click(SEL.discard));
      expectEq([d.status, d.json && d.json.status], [200, 'discarded'], 'discarding x1');
      expected.x1 = { status: 'discarded', values: d.sent && d.sent.values !== undefined ? d.sent.values : {} };
      await waitFor(() => ana.w.last.id.startsWith('f'), UI_TIMEOUT_MS, 'a filler record after x1');
    });

    // 5. Request rules.
    await check('CSRF: POST /api/next with the cookie and no X-CSRF-Token: 403 ECSRF; a stale one too', async () => {
      const n = await api(ana.page, 'POST', '/api/next', { body: {} });
      expectEq([n.status, n.json && n.json.error], [403, 'ECSRF'], 'POST /api/next without X-CSRF-Token');
      const s = await api(ana.page, 'POST', '/api/next', { body: {}, csrf: 'A'.repeat(43) });
      expectEq([s.status, s.json && s.json.error], [403, 'ECSRF'], 'POST /api/next with a wrong X-CSRF-Token');
      const ok = await api(ana.page, 'GET', '/api/session');
      const good = await api(ana.page, 'POST', '/api/next', { body: {}, csrf: ok.json.csrf });
      expectEq(good.status, 200, 'the same request with the session\'s CSRF token');
    });

    await check('request rules: a 3 MiB body 413, malformed JSON 400, not JSON 415, a bad answer 422, a finished record 409, all JSON', async () => {
      const { json: { csrf } } = await api(ana.page, 'GET', '/api/session');
      const big = JSON.stringify({ record: ana.w.last.id, status: 'draft', values: { reply: 'x'.repeat(3 * 1024 * 1024) } });
      const b = await api(ana.page, 'POST', '/api/respond', { raw: big, csrf });
      expectEq([b.status, b.json && b.json.error], [413, 'ETOOBIG'], `a 3 MiB body (${b.error || b.text.slice(0, 100)})`);
      const m = await api(ana.page, 'POST', '/api/respond', { raw: '{"record": "f1", "status": ', csrf });
      expectEq([m.status, m.json && m.json.error], [400, 'EPROTO'], `malformed JSON (${m.text})`);
      const t = await api(ana.page, 'POST', '/api/next', { raw: '{}', csrf, contentType: 'text/plain' });
      expectEq([t.status, t.json && t.json.error], [415, 'EMEDIA'], `Content-Type text/plain (${t.text})`);
      const bad = await api(ana.page, 'POST', '/api/respond', { body: { record: ana.w.last.id, status: 'submitted', values: { quality: 9 } }, csrf });
      expectEq([bad.status, bad.json && bad.json.error, bad.json && bad.json.question], [422, 'EINVAL', 'quality'],
               `an answer breaking the dataset's rules (${bad.text})`);
      const other = { ...expected.r1.values, quality: 1 };
      const done = await api(ana.page, 'POST', '/api/respond', { body: { record: 'r1', status: 'submitted', values: other }, csrf });
      expectEq([done.status, done.json && done.json.error], [409, 'EEXIST'], `another answer to r1, answered already (${done.text})`);
      for (const x of [b, m, t, bad, done]) expect((x.type || '').startsWith('application/json'), `an error's Content-Type is ${x.type}`);
      // Still working afterwards.
      const s = await api(ana.page, 'GET', '/api/session');
      expectEq(s.status, 200, 'GET /api/session after the bad requests');
    });

    // 6. A revoked web token.
    const bob = await newPage('bob');
    await check('bob\'s web token revoked while he works: 401 within seconds, login form back, old token refused', async () => {
      const resp = await login(bob.page, tokens.bob);
      expectEq(resp.status(), 200, 'bob\'s POST /api/login status');
      await waitFor(() => bob.w.last, UI_TIMEOUT_MS, 'a record for bob');
      await bob.page.locator(SEL.submit).waitFor({ state: 'visible' });
      const t = Date.now();
      jury(store, ['annotator', 'web-token', 'bob', '--revoke']);
      const s = await waitFor(async () => {
        const r = await api(bob.page, 'GET', '/api/state');
        return r.status === 401 ? r : false;
      }, CUT_TIMEOUT_MS, 'GET /api/state to answer 401 after the revoke', 250);
      const cut = (Date.now() - t) / 1000;
      expectEq(s.json && s.json.error, 'EAUTH', 'the 401\'s error');
      await bob.page.locator(SEL.loginToken).waitFor({ state: 'visible', timeout: CUT_TIMEOUT_MS });
      const again = await login(bob.page, tokens.bob);
      expectEq(again.status(), 401, 'POST /api/login with the revoked token');
      await bob.page.locator(SEL.loginError).waitFor({ state: 'visible' });
      const live = await waitFor(() => { const l = liveStatus(store); return l && !l.connected.includes('bob') ? l : false; },
                                 UI_TIMEOUT_MS, 'bob to leave the coordinator\'s connected list');
      return `401 after ${cut.toFixed(1)} s; connected now ${JSON.stringify(live.connected)}`;
    });
    await bob.page.context().close();

    // 7. The coordinator goes away and comes back.
    let keptId = null;
    await check('coordinator stopped: #reconnecting shows, an answer is kept (503 kept:true), #reconnecting hides when it is back', async () => {
      const { page } = ana;
      const id = ana.w.last.id;
      await waitShown(page, ana.w, id);
      await page.locator(SEL.reconnecting).waitFor({ state: 'hidden' });
      const r = await stopChild(serve);
      expectEq(r, { code: 0, signal: null }, 'jury serve\'s exit after SIGTERM');
      expect(!SANITIZER_RE.test(serve.err), `sanitizer report from jury serve:\n${tail(serve.err)}`);
      await page.locator(SEL.reconnecting).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
      const plan = {
        append: ' (sent while the coordinator was away)', quality: 1, topic: 'other', issuesClicks: ['rude'],
        moves: [['button', 'reply-c', 'up']], best: ['reply-a', 'reply-c', 'reply-b'], spans: [['toaster', 'product']],
      };
      const values = await answerAll(page, id, plan);
      const a = await respond(page, () => page.click(SEL.submit));
      expectEq([a.status, a.json && a.json.error, a.json && a.json.kept], [503, 'EIO', true],
               `POST /api/respond while the coordinator is away (${JSON.stringify(a.json)})`);
      const st = await api(page, 'GET', '/api/state');
      expectEq([st.status, st.json.connected, st.json.pending], [200, false, 1], 'GET /api/state while away');
      expected[id] = { status: 'submitted', values };
      keptId = id;
      serve = await startServe();
      const t = Date.now();
      await page.locator(SEL.reconnecting).waitFor({ state: 'hidden', timeout: RECONNECT_TIMEOUT_MS });
      const after = await waitFor(async () => { const x = await api(page, 'GET', '/api/state'); return x.json && x.json.pending === 0 ? x : false; },
                                  RECONNECT_TIMEOUT_MS, '/api/state pending to reach 0');
      expectEq(after.json.connected, true, 'connected after the reconnect');
      await waitFor(() => ana.w.last.id !== id, UI_TIMEOUT_MS, 'the next record after the kept answer');
      return `${id} answered while away; back after ${((Date.now() - t) / 1000).toFixed(1)} s`;
    });

    await check('the answer kept while the coordinator was away is in the store', async () => {
      // pending is 0 by now: the answer was sent, and either stored or refused.
      const until = Date.now() + 5000;
      const got = await waitFor(() => responsesOf(store, 'ana')[keptId] || (Date.now() > until ? 'missing' : false),
                                RECONNECT_TIMEOUT_MS, `ana's answer to ${keptId} in the store`);
      const refused = serve.err.split('\n').filter((l) => l.includes('response_refused') && l.includes(`'${keptId}'`));
      expect(got !== 'missing', `ana's answer to ${keptId}, acknowledged to the page as kept (503 kept:true), ` +
             `is not in the store after the reconnect` + (refused.length ? `; the coordinator refused it:\n     ${refused.join('\n     ')}` : ''));
      expectEq(normalise(responsesOf(store, 'ana')), normalise(expected), 'ana\'s responses in the store after the reconnect');
      return `${keptId} stored`;
    });

    // 8. Logout.
    await check('logout: #logout shows the login form, the API answers 401, ana leaves the coordinator', async () => {
      const { page } = ana;
      const { json: { csrf } } = await api(page, 'GET', '/api/session');
      await page.click(SEL.logout);
      await page.locator(SEL.loginToken).waitFor({ state: 'visible' });
      const s = await api(page, 'GET', '/api/session');
      expectEq([s.status, s.json && s.json.error], [401, 'EAUTH'], 'GET /api/session after logout');
      const n = await api(page, 'POST', '/api/next', { body: {}, csrf });
      expectEq([n.status, n.json && n.json.error], [401, 'EAUTH'], 'POST /api/next with the old CSRF token after logout');
      const cookies = await page.context().cookies();
      expect(!cookies.some((k) => k.name === 'jury_session' && k.value), 'the jury_session cookie is cleared');
      const live = await waitFor(() => {
        const l = liveStatus(store);
        return l && !l.connected.includes('ana') && !l.connected.includes('bob') && l.leases === 0 ? l : false;
      }, UI_TIMEOUT_MS, 'ana gone from the connected list and no leases left in jury status');
      return `live ${JSON.stringify(live)}`;
    });

    // 9. One annotator alone: juror web with bob's own key; the launch token rides in the fragment.
    await check('single annotator: juror web --key prints a #token address, opening it logs in, a wrong launch token gets 401, an answer reaches the store', async () => {
      const solo = startChild('juror-web-solo', JUROR_BIN, ['--key', path.join(tmp, 'bob.key'), '--dataset', DATASET,
                                                            'web', '--listen', '127.0.0.1:0'], tmp);
      const m = await waitFor(() => {
        expect(solo.exitCode === null, `juror web (single) exited with ${solo.exitCode}:\n${tail(solo.err)}`);
        return solo.out.match(/^juror web: serving dataset (\S+) as (\S+) at (http:\/\/\S+)#token=([A-Za-z0-9_-]{43})$/m);
      }, UI_TIMEOUT_MS, 'the "juror web: serving dataset ... as ... at http://...#token=..." line');
      expectEq([m[1], m[2]], [DATASET, 'bob'], 'dataset and annotator in the line');
      const soloBase = new URL(m[3]).origin;
      const bad = await fetch(soloBase + '/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                         body: JSON.stringify({ token: 'A'.repeat(43) }) });
      expectEq([bad.status, (await bad.json()).error], [401, 'EAUTH'], 'a wrong launch token');
      const gw = await fetch(soloBase + '/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                                        body: JSON.stringify({ token: tokens.ana }) });
      expectEq(gw.status, 401, 'a web token is no launch token');
      const ctx = await browser.newContext({ viewport: { width: 820, height: 1180 } });
      const page = await ctx.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      const w = watch(page, 'bob-solo');
      pages.push({ page, w });
      await page.goto(m[3] + '#token=' + m[4]);
      const rec = await waitFor(() => w.last, UI_TIMEOUT_MS, 'a record for bob');
      await page.locator(SEL.spanText('entities')).first().waitFor({ state: 'visible' });
      expect(!(await page.url()).includes(m[4]), `the launch token is still in the address bar: ${page.url()}`);
      expectEq(await page.locator('#annotator').textContent().then((t) => t.trim()), 'bob', 'the annotator in the header');
      await page.fill(SEL.textInput('reply'), 'Answered on the single-annotator page.');
      await page.click(SEL.rating('quality', 3));
      await page.click(SEL.label('topic', 'other'));
      await page.click(SEL.label('issues', 'vague'));
      await page.click(`${SEL.question('entities')} [data-action="no-spans"]`);
      const r = await respond(page, () => page.click(SEL.submit));
      expectEq([r.status, r.json && r.json.status], [200, 'submitted'], `POST /api/respond (sent ${JSON.stringify(r.sent)})`);
      const got = responsesOf(store, 'bob')[rec.id];
      expect(got, `bob's answer to ${rec.id} is not in the store`);
      expectEq([got.status, got.values.reply, got.values.quality, got.values.topic, got.values.issues, got.values.entities],
               ['submitted', 'Answered on the single-annotator page.', 3, 'other', ['vague'], []], `bob's stored answer to ${rec.id}`);
      await ctx.close();
      const stopped = await stopChild(solo);
      expectEq(stopped, { code: 0, signal: null }, 'juror web (single) exit after SIGTERM');
      expect(!SANITIZER_RE.test(solo.err), `sanitizer report from juror web (single):\n${tail(solo.err, 60)}`);
      return `${rec.id} answered by bob at ${soloBase}`;
    });

    // 10. Review through a gateway on dataset rev.
    let webRev = null;
    let revBase;
    await check('review setup: dataset rev consolidated (v1, v3 rejected for disagreeing), rita a reviewer, a gateway on rev', async () => {
      const settingsFile = path.join(tmp, 'rev-settings.json');
      fs.writeFileSync(settingsFile, JSON.stringify(REVIEW_SETTINGS));
      jury(store, ['dataset', 'create', REVIEW_DATASET, '--settings', settingsFile]);
      jury(store, ['import', REVIEW_DATASET, '-'], { input: REVIEW_RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n' });
      const c = JSON.parse(jury(store, ['consolidate', REVIEW_DATASET, '--json']));
      expectEq([c.accepted, c.rejected, c.pending], [1, 2, 0], 'jury consolidate rev: accepted, rejected, pending');
      const out = jury(store, ['annotator', 'add', 'rita', '--role', 'reviewer', '--datasets', REVIEW_DATASET, '--web-token',
                               '--out', path.join(tmp, 'rita.key'), '--endpoint', endpoint]);
      const m = out.match(/^web-token: (rita:\S+)$/m);
      expect(m, `jury annotator add rita --web-token printed no "web-token: rita:SECRET" line:\n${out}`);
      tokens.rita = m[1];
      jury(store, ['annotator', 'grant', 'ana', REVIEW_DATASET]);
      const st = JSON.parse(jury(store, ['status', REVIEW_DATASET, '--json']));
      expectEq(st.review, { waiting: 2, reviewed: 0 }, 'jury status rev: review');
      webRev = startChild('juror-web-rev', JUROR_BIN, ['web', '--gateway', '--key', path.join(tmp, 'gw.key'), '--dataset', REVIEW_DATASET,
                                                       '--listen', '127.0.0.1:0', '-v'], tmp);
      const g = await waitFor(() => {
        expect(webRev.exitCode === null, `juror web (rev) exited with ${webRev.exitCode}:\n${tail(webRev.err)}`);
        return webRev.out.match(/^juror web: gateway for dataset rev at (http:\/\/\S+)/m);
      }, UI_TIMEOUT_MS, 'the "juror web: gateway for dataset rev at http://..." line');
      revBase = new URL(g[1]).origin;
      diagnostics.push(() => console.log(`--- ${webRev.label} (${webRev.logPath}), last lines:\n${tail(webRev.err + webRev.out)}`));
    });

    const newRevPage = async (who) => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await ctx.newPage();
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      const w = watch(page, who);
      pages.push({ page, w });
      await page.goto(revBase + '/');
      return { page, w };
    };

    await check('review: ana (an annotator) sees no Review switch; POST /api/review/fetch and /api/review answer 403 EPERM', async () => {
      const { page } = await newRevPage('ana-rev');
      const resp = await login(page, tokens.ana);
      expectEq(resp.status(), 200, 'ana\'s POST /api/login status at the rev gateway');
      // Every record of rev is complete: nothing to annotate.
      await page.locator('#done').waitFor({ state: 'visible' });
      const s = await api(page, 'GET', '/api/session');
      expectEq([s.status, s.json.role, s.json.review], [200, 'annotator', false], 'GET /api/session: role, review');
      expect(await page.locator('#mode-switch').isHidden(), 'the Annotate | Review switch is shown to an annotator');
      expect(await page.locator('#mode-review').isHidden(), 'the Review button is shown to an annotator');
      const f = await api(page, 'POST', '/api/review/fetch', { body: { n: 5 }, csrf: s.json.csrf });
      expectEq([f.status, f.json && f.json.error, f.json && f.json.message], [403, 'EPERM',
               'review_fetch: ana has the role annotator; reviewing needs the role reviewer or admin'], 'POST /api/review/fetch as ana');
      const d = await api(page, 'POST', '/api/review', { body: { record: 'v1', accept: false }, csrf: s.json.csrf });
      expectEq([d.status, d.json && d.json.error], [403, 'EPERM'], `POST /api/review as ana (${d.text})`);
      await page.click(SEL.logout);
      await page.locator(SEL.loginToken).waitFor({ state: 'visible' });
      await page.context().close();
    });

    const rita = await newRevPage('rita');
    let v1 = null;
    await check('review: rita switches to Review by keyboard, sees why v1 waits, every response and the consolidation\'s answers in the form', async () => {
      const { page } = rita;
      const resp = await login(page, tokens.rita);
      expectEq(resp.status(), 200, 'rita\'s POST /api/login status');
      expectEq([(await resp.json()).role, (await resp.json()).review], ['reviewer', true], 'the login reply: role, review');
      await page.locator('#done').waitFor({ state: 'visible' });
      await page.locator('#mode-review').waitFor({ state: 'visible' });
      expectEq(await page.locator('#mode-review').getAttribute('aria-pressed'), 'false', '#mode-review aria-pressed before');
      const fetched = page.waitForResponse((r) => r.url().endsWith('/api/review/fetch'), { timeout: UI_TIMEOUT_MS });
      await page.locator('#mode-review').focus();
      await page.keyboard.press('Enter');
      const f = await fetched;
      expectEq(f.status(), 200, 'POST /api/review/fetch status');
      const recs = (await f.json()).records;
      expectEq(recs.map((r) => r.id), ['v1'], 'the records fetched (one: nothing was skipped)');
      v1 = recs[0];
      expectEq([v1.why, v1.reason], [['rejected'], 'agreement on "topic" below min_agreement 1'], 'v1: why and reason');
      expectEq(v1.responses.map((r) => [r.annotator, r.status, r.values]),
               [['ana', 'submitted', REVIEW_ANSWERS.v1.ana], ['bob', 'submitted', REVIEW_ANSWERS.v1.bob]], 'v1: the responses');
      expect(v1.unified && typeof v1.unified.reply === 'string', `v1: the consolidation's answers: ${JSON.stringify(v1.unified)}`);
      expectEq(await page.locator('#mode-review').getAttribute('aria-pressed'), 'true', '#mode-review aria-pressed after');
      await page.locator('#accept').waitFor({ state: 'visible' });
      expect(await page.locator('#submit').isHidden(), '#submit is shown in review mode');
      expectEq(await page.locator('#record-id').textContent(), 'v1', '#record-id');
      const why = await page.locator('#review-why').textContent();
      for (const t of ['Rejected by the consolidation', 'agreement on "topic" below min_agreement 1']) {
        expect(why.includes(t), `#review-why does not say "${t}": ${JSON.stringify(why)}`);
      }
      expectEq(await page.locator('#responses-table thead th').allTextContents(), ['Question', 'Consolidation', 'ana', 'bob'],
               'the columns of the responses table');
      const row = (q) => page.locator(`#responses-table tr[data-row="${q}"] td`).allTextContents();
      expectEq(await row('reply'), [v1.unified.reply, REVIEW_ANSWERS.v1.ana.reply, REVIEW_ANSWERS.v1.bob.reply], 'the reply row');
      expectEq(await row('topic'), [{ billing: 'Billing', shipping: 'Shipping', other: 'Other' }[v1.unified.topic], 'Billing', 'Shipping'], 'the topic row');
      expectEq(await row('issues'), [v1.unified.issues.join(', ') || '(none)', 'wrong', 'rude, vague'], 'the issues row');
      expectEq((await row('entities')).slice(1), ['“7001” order-id', '“7001” order-id“lamp” product'], 'the entities row (ana, bob)');
      expectEq(await page.locator('#responses-table tr.differs').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-row'))),
               ['reply', 'quality', 'topic', 'issues', 'best', 'entities'], 'the rows marked as differing');
      // The form starts from the consolidation's answers.
      expectEq(await page.locator(SEL.textInput('reply')).inputValue(), v1.unified.reply, 'the reply in the form');
      expectEq(await pressed(page, SEL.rating('quality', v1.unified.quality)), 'true', 'the consolidation\'s quality is pressed');
      expectEq(await pressed(page, SEL.label('topic', v1.unified.topic)), 'true', 'the consolidation\'s topic is pressed');
      expect((await page.locator('#review-source').textContent()).includes('consolidation'), '#review-source names the consolidation');
      return `unified ${JSON.stringify(v1.unified)}`;
    });

    await check('review: refused decisions: no X-CSRF-Token 403, accept without values 400, a bad value 422 naming the question', async () => {
      const { page } = rita;
      const { json: { csrf } } = await api(page, 'GET', '/api/session');
      const c = await api(page, 'POST', '/api/review', { body: { record: 'v1', accept: false } });
      expectEq([c.status, c.json && c.json.error], [403, 'ECSRF'], 'POST /api/review without X-CSRF-Token');
      const n = await api(page, 'POST', '/api/review', { body: { record: 'v1', accept: true }, csrf });
      expectEq([n.status, n.json && n.json.error], [400, 'EPROTO'], `accept without values (${n.text})`);
      const x = await api(page, 'POST', '/api/review', { body: { record: 'v1', accept: true, values: { ...REVIEW_ANSWERS.v1.bob, quality: 9 } }, csrf });
      expectEq([x.status, x.json && x.json.error, x.json && x.json.question], [422, 'EINVAL', 'quality'], `a rating of 9 (${x.text})`);
      const k = await api(page, 'POST', '/api/review/fetch', { body: { n: 0 }, csrf });
      expectEq([k.status, k.json && k.json.error], [400, 'EPROTO'], `n 0 (${k.text})`);
      const st = JSON.parse(jury(store, ['status', REVIEW_DATASET, '--json']));
      expectEq(st.review, { waiting: 2, reviewed: 0 }, 'jury status rev: review, nothing decided');
    });

    await check('review: "Use these answers" of bob fills the form with his answers; Accept stores them, reviewed_by rita in the export', async () => {
      const { page } = rita;
      await page.click('#responses-table button[data-action="use-answers"][data-annotator="bob"]');
      const bob = REVIEW_ANSWERS.v1.bob;
      expectEq(await page.locator(SEL.textInput('reply')).inputValue(), bob.reply, 'the reply after copying bob\'s');
      expectEq(await pressed(page, SEL.rating('quality', bob.quality)), 'true', 'bob\'s quality is pressed');
      for (const l of ['billing', 'shipping', 'other']) {
        expectEq(await pressed(page, SEL.label('topic', l)), String(l === bob.topic), `topic ${l} aria-pressed`);
      }
      for (const l of ['rude', 'wrong', 'vague']) {
        expectEq(await pressed(page, SEL.label('issues', l)), String(bob.issues.includes(l)), `issues ${l} aria-pressed`);
      }
      expectEq(await rankOrder(page, 'best'), bob.best, 'the ranking after copying bob\'s');
      expectEq(await page.locator(`${SEL.question('entities')} .span-item`).evaluateAll((els) => els.map((e) => [
        Number(e.getAttribute('data-start')), Number(e.getAttribute('data-end')), e.getAttribute('data-label')])),
               bob.entities.map((x) => [x.start, x.end, x.label]), 'the spans after copying bob\'s');
      expect((await page.locator('#review-source').textContent()).includes('bob'), '#review-source names bob');
      expectEq(await page.locator('#responses-table th.is-source').allTextContents(), ['bob'], 'the column marked as the form\'s');
      const shot = path.join(ARTIFACTS, 'juror-web-review.png');
      await page.locator('#guidelines').evaluate((d) => { d.open = false; });
      await page.setViewportSize({ width: 1280, height: 1800 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot });
      await page.setViewportSize({ width: 1280, height: 1000 });
      console.log(`      screenshot: ${shot}`);
      await page.fill('#review-note', 'bob read the order right');
      const decided = page.waitForResponse((r) => r.url().endsWith('/api/review'), { timeout: UI_TIMEOUT_MS });
      await page.click('#accept');
      const d = await decided;
      const sent = d.request().postDataJSON();
      expectEq([d.status(), await d.json()], [200, { ok: true }], 'POST /api/review status and reply');
      expectEq([sent.record, sent.accept, sent.note], ['v1', true, 'bob read the order right'], 'the decision sent');
      expectEq(normalise({ v1: { status: 'x', values: sent.values } }), normalise({ v1: { status: 'x', values: bob } }), 'the values sent');
      const line = exportRecords(store, REVIEW_DATASET).v1;
      expectEq([line.decision, line.reason, line.reviewed_by, line.review_note], ['accepted', null, 'rita', 'bob read the order right'],
               'v1 in jury export --format records: decision, reason, reviewed_by, review_note');
      expectEq(normalise({ v1: { status: 'x', values: line.unified } }), normalise({ v1: { status: 'x', values: bob } }),
               'v1\'s final values in the export: bob\'s');
      await waitFor(async () => (await page.locator('#record-id').textContent()) === 'v3', UI_TIMEOUT_MS, 'v3 shown next');
    });

    await check('review: v3 skipped comes again (nothing else waits), then rejected with a note; the queue is empty; no injected code ran', async () => {
      const { page } = rita;
      // bob's reply holds <script> and <img onerror>: text in the table, never run.
      const cell = await page.locator('#responses-table tr[data-row="reply"] td[data-col="response-1"]').textContent();
      expectEq(cell, XSS.suggestion, 'bob\'s reply to v3 in the table, as text');
      expectEq(await page.evaluate(() => window.__pwned), undefined, 'window.__pwned (set only by injected code that ran)');
      expectEq(await page.locator('#responses-table img, #responses-table script').count(), 0, 'elements injected into the table');
      const fetched = page.waitForResponse((r) => r.url().endsWith('/api/review/fetch'), { timeout: UI_TIMEOUT_MS });
      await page.click('#review-skip');
      expectEq((await (await fetched).json()).records.map((r) => r.id), ['v3'], 'the records fetched after skipping v3');
      await page.locator('#status', { hasText: 'You skipped every record that waits' }).waitFor();
      expectEq(await page.locator('#record-id').textContent(), 'v3', 'v3 shown again');
      await page.fill('#review-note', 'the box photo is missing');
      const decided = page.waitForResponse((r) => r.url().endsWith('/api/review'), { timeout: UI_TIMEOUT_MS });
      await page.click('#reject');
      const d = await decided;
      expectEq([d.status(), d.request().postDataJSON()], [200, { record: 'v3', accept: false, note: 'the box photo is missing' }],
               'POST /api/review (reject) status and body');
      await page.locator('#review-done').waitFor({ state: 'visible' });
      const lines = exportRecords(store, REVIEW_DATASET);
      expectEq([lines.v3.decision, lines.v3.reason, lines.v3.reviewed_by, lines.v3.review_note],
               ['rejected', 'rejected by reviewer rita: the box photo is missing', 'rita', 'the box photo is missing'], 'v3 in the export');
      expectEq([lines.v2.decision, lines.v2.reviewed_by], ['accepted', null], 'v2 in the export (accepted by the consolidation)');
      const st = JSON.parse(jury(store, ['status', REVIEW_DATASET, '--json']));
      expectEq(st.review, { waiting: 0, reviewed: 2 }, 'jury status rev: review');
      // Back to annotating: nothing left there either.
      await page.click('#mode-annotate');
      await page.locator('#done').waitFor({ state: 'visible' });
      expectEq(await page.locator('#mode-review').getAttribute('aria-pressed'), 'false', '#mode-review aria-pressed after switching back');
    });

    await check('no page errors, no console errors but the refused requests made on purpose (400/401/403/404/409/413/415/422/503)', async () => {
      const errs = [];
      for (const { w } of pages) {
        for (const e of w.pageErrors) errs.push(`${w.who}: uncaught ${e}`);
        for (const e of w.consoleErrors) {
          if (!/Failed to load resource: the server responded with a status of (40[013459]|41[35]|422|503) /.test(e)) errs.push(`${w.who}: console ${e}`);
        }
      }
      expectEq(errs, [], 'errors in the pages');
    });

    await check('juror web and jury serve stop cleanly on SIGTERM, no sanitizer reports', async () => {
      await browser.close();
      browser = null;
      for (const c of [web, webRev, serve]) {
        if (!c) continue;
        const r = await stopChild(c);
        expectEq(r, { code: 0, signal: null }, `${c.label}'s exit after SIGTERM`);
        expect(!SANITIZER_RE.test(c.err), `sanitizer report from ${c.label}:\n${tail(c.err, 60)}`);
      }
    });
    ok = true;
  } finally {
    if (!ok) {
      for (const [i, { page, w }] of pages.entries()) {
        try {
          const p = path.join(ARTIFACTS, `failure-${i}-${w.who}.png`);
          await page.screenshot({ path: p, fullPage: true, timeout: 5000 });
          console.log(`--- ${w.who}: screenshot at failure: ${p}`);
        } catch { /* closed */ }
      }
      for (const d of diagnostics) d();
    }
    if (browser) await browser.close().catch(() => {});
    killAll();
    if (ok) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(() => {
  console.log(`web: ${((Date.now() - T0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, 0 failed`);
  process.exit(0);
}, (e) => {
  if (!e.reported) console.log(`FAIL  ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
  console.log(`web: ${((Date.now() - T0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
