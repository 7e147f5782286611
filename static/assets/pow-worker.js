/* cardshop: the proof-of-work solver, run as a Web Worker (a file, so the CSP's
 * worker-src 'self' allows it).
 *
 *   postMessage({token, difficulty})  ->  postMessage({answer: "token:nonce", tries})
 *
 * The answer's SHA-256 starts with at least `difficulty` zero bits. SHA-256 is computed here
 * in plain JavaScript: crypto.subtle exists only in secure contexts (not on a LAN address over
 * http://), and its promise per digest costs more than the hash itself for 75-byte inputs.
 * The blocks of "token:" that are full are hashed once; each nonce only costs its last block
 * or two. */
'use strict';

var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);
var H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
var W = new Int32Array(64);

/* Runs one 64-byte block of bytes (from offset) through state h (Int32Array(8)). */
function block(h, bytes, off) {
  var i, a, b, c, d, e, f, g, hh, t1, t2, x, y;
  for (i = 0; i < 16; i++) {
    W[i] = (bytes[off + 4 * i] << 24) | (bytes[off + 4 * i + 1] << 16) |
           (bytes[off + 4 * i + 2] << 8) | bytes[off + 4 * i + 3];
  }
  for (i = 16; i < 64; i++) {
    x = W[i - 15]; y = W[i - 2];
    W[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
           W[i - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) +
           W[i - 16] | 0;
  }
  a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
  for (i = 0; i < 64; i++) {
    t1 = hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
         ((e & f) ^ (~e & g)) + K[i] + W[i] | 0;
    t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
         ((a & b) ^ (a & c) ^ (b & c)) | 0;
    hh = g; g = f; f = e; e = d + t1 | 0; d = c; c = b; b = a; a = t1 + t2 | 0;
  }
  h[0] = h[0] + a | 0; h[1] = h[1] + b | 0; h[2] = h[2] + c | 0; h[3] = h[3] + d | 0;
  h[4] = h[4] + e | 0; h[5] = h[5] + f | 0; h[6] = h[6] + g | 0; h[7] = h[7] + hh | 0;
}

function ascii(s) {
  var out = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/* Leading zero bits of the state as a digest, up to 64 (enough: difficulty is at most 22). */
function zeroBits(h) {
  var bits = 0;
  for (var i = 0; i < 2; i++) {
    if (h[i] === 0) { bits += 32; continue; }
    return bits + Math.clz32(h[i]);
  }
  return bits;
}

/* Finds the first nonce (0, 1, 2, …) for which SHA-256(prefix + nonce) has `difficulty` zero
 * bits. The token is printable ASCII (the server's format), so bytes are char codes. */
function solve(token, difficulty) {
  var prefix = ascii(token + ':');
  var full = prefix.length - prefix.length % 64;
  var mid = new Int32Array(H0);
  for (var off = 0; off < full; off += 64) block(mid, prefix, off);
  var tail = prefix.subarray(full);
  var buf = new Uint8Array(192);
  var h = new Int32Array(8);
  for (var nonce = 0; ; nonce++) {
    var digits = String(nonce);
    var n = tail.length + digits.length;          /* bytes after the midstate */
    var total = prefix.length + digits.length;    /* whole message length */
    var blocks = n + 9 <= 64 ? 1 : 2;
    buf.fill(0, 0, blocks * 64);
    buf.set(tail, 0);
    for (var i = 0; i < digits.length; i++) buf[tail.length + i] = digits.charCodeAt(i);
    buf[n] = 0x80;
    var bitsLen = total * 8, end = blocks * 64;
    buf[end - 4] = (bitsLen >>> 24) & 0xff; buf[end - 3] = (bitsLen >>> 16) & 0xff;
    buf[end - 2] = (bitsLen >>> 8) & 0xff; buf[end - 1] = bitsLen & 0xff;
    h.set(mid);
    block(h, buf, 0);
    if (blocks === 2) block(h, buf, 64);
    if (zeroBits(h) >= difficulty) return { answer: token + ':' + digits, tries: nonce + 1 };
  }
}

/* For tests and the page: the hex SHA-256 of an ASCII string with the same code. */
function sha256Hex(s) {
  var bytes = ascii(s), n = bytes.length, blocks = Math.ceil((n + 9) / 64);
  var buf = new Uint8Array(blocks * 64), h = new Int32Array(H0), bitsLen = n * 8;
  buf.set(bytes);
  buf[n] = 0x80;
  buf[buf.length - 4] = (bitsLen >>> 24) & 0xff; buf[buf.length - 3] = (bitsLen >>> 16) & 0xff;
  buf[buf.length - 2] = (bitsLen >>> 8) & 0xff; buf[buf.length - 1] = bitsLen & 0xff;
  for (var off = 0; off < buf.length; off += 64) block(h, buf, off);
  var hex = '';
  for (var i = 0; i < 8; i++) hex += ('00000000' + (h[i] >>> 0).toString(16)).slice(-8);
  return hex;
}

if (typeof self !== 'undefined' && typeof self.postMessage === 'function' &&
    typeof self.document === 'undefined') {
  self.onmessage = function (ev) {
    var m = ev.data || {};
    if (m.hash !== undefined) { self.postMessage({ hex: sha256Hex(String(m.hash)) }); return; }
    var started = Date.now();
    var r = solve(String(m.token), Math.min(22, Math.max(1, m.difficulty | 0)));
    r.ms = Date.now() - started;
    self.postMessage(r);
  };
}
if (typeof module !== 'undefined') module.exports = { solve: solve, sha256Hex: sha256Hex };
