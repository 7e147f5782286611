#!/usr/bin/env node
// Loopback fakes of Alipay (OpenAPI gateway.do: precreate, query, async notify) and WeChat Pay
// API v3 (Native transactions, query, notify). Every signature and the AES-GCM resource come
// from the gateways' own SDKs (alipay-sdk, wechatpay-axios-plugin), not from the shop's code,
// so the shop's verifiers are checked against an independent implementation.
//
//   node gateway_fake.js CONFIG.json      -> prints {"port": N} once listening on 127.0.0.1
//
// CONFIG (written by tests/fakes/fake_qr.py): {"kind": "alipay"|"wechat", key files, ids}.
// Control endpoints (JSON in and out) for the tests:
//   POST /_control/mode   {"mode": "ok"|"fail"|"slow"|"refuse"|"bad_sign", "delay_ms"}
//   GET  /_control/requests                      what the shop sent and whether it verified
//   POST /_control/pay    {"order", "send", "overrides", "tamper", "forge", ...} -> the
//        shop's answer to the notify ({"status", "body"}); "send": false only marks it paid
//        at the gateway (a withheld notify, for the reconciler to find).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { AlipaySdk } = require('alipay-sdk');
// The SDK's own RSA2 signer (the one its request signing uses); not in its exports map.
const alipayUtil = require(path.join(__dirname, 'node_modules/alipay-sdk/dist/commonjs/util.js'));
const { Rsa, Formatter, Aes } = require('wechatpay-axios-plugin');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const read = (f) => fs.readFileSync(f, 'utf8');
let mode = { mode: 'ok', delay_ms: 0 };
const requests = [];
const orders = new Map(); // out_trade_no -> {amount, notify_url, paid, trade_no, ...}
let tradeSeq = 1;

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function postTo(url, body, headers) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const r = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
      method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

// ---------------------------------------------------------------------------------- Alipay
let alipay;
if (cfg.kind === 'alipay') {
  // Seen from Alipay: it checks the merchant's request with the merchant's public key.
  const asGateway = new AlipaySdk({ appId: cfg.app_id, privateKey: read(cfg.alipay_private_key),
    alipayPublicKey: read(cfg.merchant_public_key), keyType: 'PKCS8' });
  // Seen from a merchant using the SDK: what Alipay signs must verify with Alipay's public key.
  const asMerchant = new AlipaySdk({ appId: cfg.app_id, privateKey: read(cfg.merchant_private_key),
    alipayPublicKey: read(cfg.alipay_public_key), keyType: 'PKCS1' });
  const alipayPrivate = asGateway.config.privateKey;
  const otherKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    .export({ type: 'pkcs8', format: 'pem' });
  alipay = { asGateway, asMerchant, alipayPrivate, otherKey };
}

function alipaySignedAnswer(method, obj) {
  const key = method.replace(/\./g, '_') + '_response';
  const inner = JSON.stringify(obj);
  let sign = alipayUtil.signatureV3(inner, mode.mode === 'bad_sign' ? alipay.otherKey : alipay.alipayPrivate);
  // The SDK's own response check: what we answer is what a merchant's SDK would accept.
  const text = `{"${key}":${inner},"sign":"${sign}"}`;
  if (mode.mode !== 'bad_sign') alipay.asMerchant.checkResponseSign(text, key, sign);
  return text;
}

function alipayGateway(params) {
  const method = params.method;
  const sigOk = alipay.asGateway.checkNotifySignV2(params);
  requests.push({ method, params, signature_ok: sigOk });
  if (!sigOk || params.app_id !== cfg.app_id) {
    return alipaySignedAnswer(method, { code: '40002', msg: 'Invalid Arguments',
      sub_code: 'isv.invalid-signature', sub_msg: 'bad signature' });
  }
  const biz = JSON.parse(params.biz_content || '{}');
  if (method === 'alipay.trade.precreate') {
    if (mode.mode === 'refuse') {
      return alipaySignedAnswer(method, { code: '40004', msg: 'Business Failed',
        sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: 'refused' });
    }
    const qr = `https://qr.alipay.com/bax0${crypto.randomBytes(8).toString('hex')}`;
    orders.set(biz.out_trade_no, { amount: biz.total_amount, subject: biz.subject,
      notify_url: params.notify_url, time_expire: biz.time_expire, paid: false, qr,
      timestamp: params.timestamp });
    return alipaySignedAnswer(method, { code: '10000', msg: 'Success',
      out_trade_no: biz.out_trade_no, qr_code: qr });
  }
  if (method === 'alipay.trade.query') {
    const o = orders.get(biz.out_trade_no);
    if (!o || !o.paid) {
      return alipaySignedAnswer(method, o
        ? { code: '10000', msg: 'Success', out_trade_no: biz.out_trade_no, trade_status: 'WAIT_BUYER_PAY',
          total_amount: o.amount, trade_no: '' }
        : { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.TRADE_NOT_EXIST', sub_msg: 'no trade' });
    }
    return alipaySignedAnswer(method, { code: '10000', msg: 'Success', out_trade_no: biz.out_trade_no,
      trade_no: o.trade_no, trade_status: 'TRADE_SUCCESS', total_amount: o.query_amount || o.amount,
      buyer_logon_id: 'buy***@example.com' });
  }
  return alipaySignedAnswer(method, { code: '40004', msg: 'Business Failed', sub_code: 'ACQ.INVALID_METHOD' });
}

// The asynchronous notify as Alipay sends it: form POST, RSA2 over the sorted parameters
// without sign and sign_type, signed with Alipay's key.
async function alipayPay(c) {
  const o = orders.get(c.order);
  if (!o) return { error: 'unknown order' };
  o.paid = true;
  o.trade_no = o.trade_no || c.trade_no || `2026${String(tradeSeq++).padStart(24, '0')}`;
  if (c.query_amount) o.query_amount = c.query_amount;
  if (c.send === false) return { withheld: true };
  const now = new Date().toISOString().replace('T', ' ').slice(0, 19);
  const p = { gmt_create: now, charset: 'utf-8', gmt_payment: now, notify_time: now,
    subject: o.subject, buyer_id: '2088102177846880', invoice_amount: o.amount, version: '1.0',
    notify_id: crypto.randomBytes(16).toString('hex'), fund_bill_list: '[{"amount":"' + o.amount + '","fundChannel":"ALIPAYACCOUNT"}]',
    notify_type: 'trade_status_sync', out_trade_no: c.order, total_amount: o.amount,
    trade_status: 'TRADE_SUCCESS', trade_no: o.trade_no, auth_app_id: cfg.app_id,
    receipt_amount: o.amount, point_amount: '0.00', app_id: cfg.app_id, buyer_pay_amount: o.amount,
    seller_id: '2088102177649450', ...(c.overrides || {}) };
  const content = Object.keys(p).sort().map((k) => `${k}=${p[k]}`).join('&');
  p.sign = alipayUtil.signatureV3(content, c.forge ? alipay.otherKey : alipay.alipayPrivate);
  p.sign_type = 'RSA2';
  if (!c.forge && !alipay.asMerchant.checkNotifySignV2(p)) throw new Error('SDK rejects our own notify');
  for (const [k, v] of Object.entries(c.tamper || {})) p[k] = v;
  const body = new URLSearchParams(p).toString();
  return postTo(o.notify_url, body, { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' });
}

// ---------------------------------------------------------------------------------- WeChat
let wx;
if (cfg.kind === 'wechat') {
  wx = { merchantPublic: Rsa.from(read(cfg.merchant_public_key), Rsa.KEY_TYPE_PUBLIC),
    platformPrivate: Rsa.from(read(cfg.platform_private_key)),
    otherPrivate: Rsa.from(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      .export({ type: 'pkcs8', format: 'pem' })) };
}

// The Authorization header a merchant sends: checked against the merchant's public key.
function wxCheckAuth(method, uri, body, auth) {
  const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(auth || '');
  if (!m) return { ok: false, why: 'no WECHATPAY2-SHA256-RSA2048 authorization' };
  const f = {};
  for (const part of m[1].split(',')) {
    const eq = part.indexOf('=');
    f[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/^"|"$/g, '');
  }
  const msg = Formatter.request(method, uri, f.timestamp, f.nonce_str, body);
  const ok = f.mchid === cfg.mchid && f.serial_no === cfg.serial_no &&
    Math.abs(Formatter.timestamp() - Number(f.timestamp)) <= 300 && Rsa.verify(msg, f.signature, wx.merchantPublic);
  return { ok, fields: f };
}

// Answers signed the way the platform signs them (Wechatpay-* headers).
function wxAnswer(res, status, obj, opts = {}) {
  const body = obj === null ? '' : JSON.stringify(obj);
  const ts = String(Formatter.timestamp());
  const nonce = Formatter.nonce();
  const key = mode.mode === 'bad_sign' ? wx.otherPrivate : wx.platformPrivate;
  const sig = Rsa.sign(Formatter.response(ts, nonce, body), key);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Wechatpay-Timestamp': ts,
    'Wechatpay-Nonce': nonce, 'Wechatpay-Signature': sig,
    'Wechatpay-Serial': opts.serial || cfg.platform_serial, 'Request-ID': crypto.randomUUID() });
  res.end(body);
}

function wxGateway(req, res, uri, body) {
  const auth = wxCheckAuth(req.method, uri, body, req.headers.authorization);
  requests.push({ method: req.method, uri, body, signature_ok: auth.ok, auth: auth.fields || {} });
  if (!auth.ok) return wxAnswer(res, 401, { code: 'SIGN_ERROR', message: 'signature error' });
  if (req.method === 'POST' && uri === '/v3/pay/transactions/native') {
    if (mode.mode === 'refuse') return wxAnswer(res, 500, { code: 'SYSTEM_ERROR', message: 'refused' });
    const b = JSON.parse(body);
    const code = `weixin://wxpay/bizpayurl?pr=${crypto.randomBytes(5).toString('hex')}`;
    orders.set(b.out_trade_no, { request: b, notify_url: b.notify_url, paid: false, code });
    return wxAnswer(res, 200, { code_url: code });
  }
  const q = /^\/v3\/pay\/transactions\/out-trade-no\/([^?]+)\?mchid=(.+)$/.exec(uri);
  if (req.method === 'GET' && q) {
    const o = orders.get(decodeURIComponent(q[1]));
    if (!o) return wxAnswer(res, 404, { code: 'ORDER_NOT_EXIST', message: 'no such order' });
    return wxAnswer(res, 200, wxTransaction(q[1], o, o.paid ? 'SUCCESS' : 'NOTPAY', o.query_total));
  }
  return wxAnswer(res, 404, { code: 'NOT_FOUND', message: 'no such API' });
}

function wxTransaction(no, o, state, total) {
  const t = { appid: o.request.appid, mchid: o.request.mchid, out_trade_no: no,
    trade_state: state, trade_state_desc: state, trade_type: 'NATIVE',
    amount: { total: total || o.request.amount.total, payer_total: total || o.request.amount.total,
      currency: o.request.amount.currency || 'CNY', payer_currency: 'CNY' },
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } };
  if (state === 'SUCCESS') {
    t.transaction_id = o.trade_no;
    t.success_time = new Date().toISOString().replace(/\.\d+Z$/, '+08:00');
    t.bank_type = 'OTHERS';
  }
  return t;
}

// The notify: the transaction encrypted with AEAD_AES_256_GCM under the APIv3 key, the body
// signed with the platform key over "timestamp\nnonce\nbody\n".
async function wxPay(c) {
  const o = orders.get(c.order);
  if (!o) return { error: 'unknown order' };
  o.paid = true;
  o.trade_no = o.trade_no || `4200${String(tradeSeq++).padStart(24, '0')}`;
  if (c.query_total) o.query_total = c.query_total;
  if (c.send === false) return { withheld: true };
  const t = wxTransaction(c.order, o, 'SUCCESS');
  for (const [k, v] of Object.entries(c.overrides || {})) {
    if (k === 'amount') Object.assign(t.amount, v); else t[k] = v;
  }
  const nonce = Formatter.nonce(12);
  const aad = 'transaction';
  let ciphertext = Aes.AesGcm.encrypt(JSON.stringify(t), cfg.apiv3_key, nonce, aad);
  if (c.bad_tag) {
    const raw = Buffer.from(ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    ciphertext = raw.toString('base64');
  }
  // The SDK must read back what it encrypted (unless the test broke the tag on purpose).
  if (!c.bad_tag && Aes.AesGcm.decrypt(ciphertext, cfg.apiv3_key, nonce, aad) !== JSON.stringify(t)) {
    throw new Error('SDK cannot decrypt its own resource');
  }
  const body = JSON.stringify({ id: crypto.randomUUID(), create_time: t.success_time,
    resource_type: 'encrypt-resource', event_type: 'TRANSACTION.SUCCESS', summary: '支付成功',
    resource: { original_type: 'transaction', algorithm: 'AEAD_AES_256_GCM', ciphertext,
      associated_data: aad, nonce } });
  const ts = String(Formatter.timestamp() + (c.ts_offset || 0));
  const hnonce = Formatter.nonce();
  const sig = Rsa.sign(Formatter.response(ts, hnonce, body), c.forge ? wx.otherPrivate : wx.platformPrivate);
  const sent = c.tamper_body ? body.replace('TRANSACTION.SUCCESS', 'TRANSACTION.SUCCESZ') : body;
  return postTo(o.notify_url, sent, { 'Content-Type': 'application/json', 'Wechatpay-Timestamp': ts,
    'Wechatpay-Nonce': hnonce, 'Wechatpay-Signature': sig,
    'Wechatpay-Serial': c.serial || cfg.platform_serial, 'Wechatpay-Signature-Type': 'WECHATPAY2-SHA256-RSA2048' });
}

// ---------------------------------------------------------------------------------- server
async function control(req, res, uri, body) {
  if (uri === '/_control/mode') {
    mode = { mode: 'ok', delay_ms: 0, ...JSON.parse(body) };
    return send(res, 200, mode);
  }
  if (uri === '/_control/requests') return send(res, 200, { requests });
  if (uri === '/_control/pay') {
    const c = JSON.parse(body);
    try {
      return send(res, 200, await (cfg.kind === 'alipay' ? alipayPay(c) : wxPay(c)));
    } catch (e) {
      return send(res, 500, { error: String(e && e.stack || e) });
    }
  }
  return send(res, 404, { error: 'no such control' });
}

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  const uri = req.url;
  if (uri.startsWith('/_control/')) return control(req, res, uri, body);
  if (mode.delay_ms) await new Promise((r) => setTimeout(r, mode.delay_ms));
  if (mode.mode === 'fail') return send(res, 502, '<html>Bad Gateway</html>', { 'Content-Type': 'text/html' });
  if (cfg.kind === 'wechat') return wxGateway(req, res, uri, body);
  const u = new URL(uri, 'http://x');
  const params = Object.fromEntries(u.searchParams);
  for (const [k, v] of new URLSearchParams(body)) params[k] = v;
  res.writeHead(200, { 'Content-Type': 'text/html;charset=utf-8' });
  res.end(alipayGateway(params));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
