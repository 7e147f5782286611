#!/usr/bin/env node
/* A fake Stripe on loopback for cardshop's tests: the part of the API the shop calls
 * (POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id, Bearer secret key, form-encoded
 * bodies, Idempotency-Key) and a webhook sender whose Stripe-Signature headers come from the
 * official `stripe` package (stripe.webhooks.generateTestHeaderString), not from our code.
 *
 *   node fake_stripe.js --secret-key sk_test_x --webhook-secret whsec_x
 *   -> prints {"port": N} on its first stdout line, then serves until killed.
 *
 * Control endpoints (JSON in and out) for the tests, under /_control/:
 *   POST /_control/config {} answers the state, with `calls`: API calls received so far
 *   POST /_control/config {webhook_url?, fail?: N (next N API calls answer 500; -1 always),
 *                          slow_ms?, refuse?: "card_declined"...}
 *   POST /_control/pay {session_id, async?: bool, withhold?: bool, event_id?, type?,
 *                       session?: {field overrides}, timestamp?, secret?, extra_v1?: [..],
 *                       only_v1?: [..]}  -> the session paid; its webhook sent (unless withheld)
 *   POST /_control/send {payload: "<raw body>", timestamp?, secret?, extra_v1?, only_v1?,
 *                        header?: "<verbatim Stripe-Signature>"} -> a webhook as given
 *   POST /_control/sign {payload, ...as send} -> {header}, nothing sent
 *   GET  /_control/sessions -> every session made, in order, with the form it was made from
 */
'use strict';

const http = require('http');
const crypto = require('crypto');
const Stripe = require('stripe');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const SECRET_KEY = args['secret-key'] || 'sk_test_fake';
const WEBHOOK_SECRET = args['webhook-secret'] || 'whsec_fake';
const stripe = Stripe(SECRET_KEY);

const state = { webhookUrl: args['webhook-url'] || '', fail: 0, slowMs: 0, refuse: '', calls: 0 };
const sessions = new Map(); // id -> session
const byIdempotency = new Map();
const made = []; // [{id, form}]
let seq = 0;

function randomId(prefix) {
  return prefix + crypto.randomBytes(12).toString('hex');
}

/* Form bodies as Stripe reads them: a[b][c]=v into nested objects, a[0][b] into arrays. */
function parseForm(text) {
  const out = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.match(/^[^[]+|\[[^\]]*\]/g).map((p) => p.replace(/^\[|\]$/g, ''));
    let node = out;
    for (let i = 0; i < parts.length; i++) {
      const k = parts[i];
      if (i === parts.length - 1) {
        if (k in node) throw new Error('parameter given twice: ' + rawKey);
        node[k] = value;
      } else {
        if (!(k in node)) node[k] = /^\d+$/.test(parts[i + 1]) ? [] : {};
        node = node[k];
      }
    }
  }
  return out;
}

function stripeError(res, status, type, message, code) {
  send(res, status, { error: { type, message, code } });
}

function send(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length,
                          'Request-Id': 'req_' + crypto.randomBytes(6).toString('hex') });
  res.end(body);
}

function authorized(req) {
  return req.headers.authorization === 'Bearer ' + SECRET_KEY;
}

function createSession(req, res, form, port) {
  const need = (cond, param, msg) => {
    if (!cond) throw Object.assign(new Error(msg || 'Missing required param: ' + param + '.'), { param });
  };
  const li = form.line_items && form.line_items[0];
  need(form.mode === 'payment', 'mode');
  need(li && li.quantity && /^\d+$/.test(li.quantity), 'line_items[0][quantity]');
  const pd = li.price_data;
  need(pd && /^[a-z]{3}$/.test(pd.currency || ''), 'line_items[0][price_data][currency]',
       'Invalid currency: must be a lower-case ISO code.');
  need(/^\d+$/.test(pd.unit_amount || '') && Number(pd.unit_amount) > 0,
       'line_items[0][price_data][unit_amount]');
  need(pd.product_data && pd.product_data.name, 'line_items[0][price_data][product_data][name]');
  need(/^https?:\/\//.test(form.success_url || ''), 'success_url', 'Not a valid URL');
  need(/^https?:\/\//.test(form.cancel_url || ''), 'cancel_url', 'Not a valid URL');
  const now = Math.floor(Date.now() / 1000);
  if (form.expires_at !== undefined) {
    const e = Number(form.expires_at);
    need(e >= now + 1800 && e <= now + 86400, 'expires_at',
         'expires_at must be between 30 minutes and 24 hours from now');
  }
  const id = 'cs_test_' + crypto.randomBytes(16).toString('hex');
  const s = {
    id, object: 'checkout.session', mode: 'payment', status: 'open', payment_status: 'unpaid',
    amount_total: Number(pd.unit_amount) * Number(li.quantity), amount_subtotal: Number(pd.unit_amount) * Number(li.quantity),
    currency: pd.currency, client_reference_id: form.client_reference_id || null,
    metadata: form.metadata || {}, success_url: form.success_url, cancel_url: form.cancel_url,
    expires_at: form.expires_at ? Number(form.expires_at) : now + 86400, created: now,
    payment_intent: null, livemode: false,
    url: `http://127.0.0.1:${port}/c/pay/${id}`,
  };
  sessions.set(id, s);
  made.push({ id, form });
  return s;
}

function signedHeader(payload, opt) {
  if (opt.header !== undefined) return opt.header;
  const ts = opt.timestamp !== undefined ? opt.timestamp : Math.floor(Date.now() / 1000);
  const header = stripe.webhooks.generateTestHeaderString({
    payload, secret: opt.secret || WEBHOOK_SECRET, timestamp: ts,
  });
  let parts = header.split(',');
  if (opt.only_v1) parts = ['t=' + ts].concat(opt.only_v1.map((v) => 'v1=' + v));
  if (opt.extra_v1) parts = opt.extra_v1.map((v) => 'v1=' + v).concat(parts);
  return parts.join(',');
}

function postWebhook(payload, header) {
  return new Promise((resolve) => {
    if (!state.webhookUrl) return resolve({ status: 0, body: 'no webhook_url set' });
    const u = new URL(state.webhookUrl);
    const body = Buffer.from(payload);
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length,
                 'Stripe-Signature': header, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
    req.end(body);
  });
}

function eventFor(session, type, eventId) {
  return {
    id: eventId || 'evt_' + crypto.randomBytes(12).toString('hex'), object: 'event',
    api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false,
    pending_webhooks: 1, request: { id: null, idempotency_key: null }, type,
    data: { object: session },
  };
}

async function control(path, body, res) {
  if (path === '/_control/config') {
    if (body.webhook_url !== undefined) state.webhookUrl = body.webhook_url;
    if (body.fail !== undefined) state.fail = body.fail;
    if (body.slow_ms !== undefined) state.slowMs = body.slow_ms;
    if (body.refuse !== undefined) state.refuse = body.refuse;
    return send(res, 200, state);
  }
  if (path === '/_control/sessions') return send(res, 200, { sessions: made.map((m) => ({ ...m, session: sessions.get(m.id) })) });
  if (path === '/_control/pay') {
    const s = sessions.get(body.session_id);
    if (!s) return send(res, 404, { error: 'no such session' });
    s.status = 'complete';
    s.payment_intent = s.payment_intent || 'pi_' + crypto.randomBytes(12).toString('hex');
    s.payment_status = body.async ? 'unpaid' : 'paid';
    let type = body.type || 'checkout.session.completed';
    const events = [];
    const shaped = Object.assign({}, s, body.session || {});
    events.push(eventFor(shaped, type, body.event_id));
    if (body.async) { // the bank debit clears later: its own event
      s.payment_status = 'paid';
      events.push(eventFor(Object.assign({}, s, body.session || {}), 'checkout.session.async_payment_succeeded'));
    }
    const sent = [];
    for (const ev of events) {
      const payload = JSON.stringify(ev, null, 2);
      const header = signedHeader(payload, body);
      const r = body.withhold ? { status: 0, body: 'withheld' } : await postWebhook(payload, header);
      sent.push({ event: ev, payload, header, status: r.status, body: r.body });
    }
    return send(res, 200, { session: s, sent });
  }
  if (path === '/_control/sign') return send(res, 200, { header: signedHeader(body.payload, body) });
  if (path === '/_control/send') {
    const header = signedHeader(body.payload, body);
    const r = await postWebhook(body.payload, header);
    return send(res, 200, { header, status: r.status, body: r.body });
  }
  if (path === '/_control/verify') { // the official library's own check, for the tests' sake
    try {
      stripe.webhooks.constructEvent(body.payload, body.header, body.secret || WEBHOOK_SECRET);
      return send(res, 200, { ok: true });
    } catch (e) {
      return send(res, 200, { ok: false, error: String(e.message) });
    }
  }
  return send(res, 404, { error: 'no such control' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const text = Buffer.concat(chunks).toString();
    const url = new URL(req.url, 'http://127.0.0.1');
    const port = server.address().port;
    try {
      if (url.pathname.startsWith('/_control/')) return await control(url.pathname, text ? JSON.parse(text) : {}, res);
      if (url.pathname.startsWith('/v1/')) state.calls++;
      if (state.slowMs) await new Promise((r) => setTimeout(r, state.slowMs));
      if (state.fail !== 0) {
        if (state.fail > 0) state.fail--;
        return stripeError(res, 500, 'api_error', 'Something went wrong on Stripe\'s end.');
      }
      if (url.pathname.startsWith('/c/pay/')) { // the hosted page the buyer is sent to
        const s = sessions.get(url.pathname.slice(7));
        res.writeHead(s ? 200 : 404, { 'Content-Type': 'text/html' });
        return res.end(s ? `<title>Pay</title><p>${s.amount_total} ${s.currency}</p>` : 'not found');
      }
      if (!authorized(req)) return stripeError(res, 401, 'invalid_request_error', 'Invalid API Key provided: sk_****');
      if (req.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
        if (state.refuse) return stripeError(res, 400, 'invalid_request_error', 'refused', state.refuse);
        const idem = req.headers['idempotency-key'];
        if (idem && byIdempotency.has(idem)) return send(res, 200, sessions.get(byIdempotency.get(idem)));
        let form;
        try {
          form = parseForm(text);
          const s = createSession(req, res, form, port);
          if (idem) byIdempotency.set(idem, s.id);
          return send(res, 200, s);
        } catch (e) {
          return stripeError(res, 400, 'invalid_request_error', e.message, 'parameter_invalid');
        }
      }
      const m = /^\/v1\/checkout\/sessions\/([A-Za-z0-9_]+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        const s = sessions.get(m[1]);
        return s ? send(res, 200, s) : stripeError(res, 404, 'invalid_request_error', 'No such checkout.session', 'resource_missing');
      }
      return stripeError(res, 404, 'invalid_request_error', 'Unrecognized request URL');
    } catch (e) {
      return send(res, 500, { error: { type: 'api_error', message: String(e) } });
    }
  });
});

server.listen(Number(args.port || 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, seq: seq++ }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
