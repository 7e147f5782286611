/* Card keys of one product: /admin/keys?product=ID (static/admin/keys.html). Upload by paste
 * or file, masked list with status filter and paging, delete an available key, export. */
(function () {
  'use strict';
  var A = window.CardshopAdmin;
  var el = A.el;
  var t = A.t;
  var I18n = window.I18n;
  var PAGE_SIZE = 100; /* the server's page size */

  var pageError = A.$('page-error');
  var uploadError = A.$('upload-error');
  var keysError = A.$('keys-error');
  var idText = A.query('product') || '';
  var pid = /^[1-9]\d{0,15}$/.test(idText) ? idText : null;
  var base = pid ? '/api/admin/products/' + pid : null;

  var initialStatus = A.query('status') || '';
  var state = {
    product: null,
    status: /^(available|reserved|sold)$/.test(initialStatus) ? initialStatus : '',
    page: Math.max(1, parseInt(A.query('page') || '1', 10) || 1),
    total: 0
  };

  function syncUrl() {
    var q = new URLSearchParams();
    q.set('product', pid);
    if (state.status) q.set('status', state.status);
    if (state.page > 1) q.set('page', String(state.page));
    try { history.replaceState(null, '', location.pathname + '?' + q.toString()); } catch (e) { /* ignored */ }
  }

  /* ---- product header ----------------------------------------------------------------- */

  function loadProduct() {
    return A.api('GET', base).then(function (p) {
      state.product = p;
      A.$('product-name').textContent = p.name;
      A.titled(t('keys.title_of', { name: p.name }));
      A.$('stat-price').textContent = A.formatMoney(p.price, p.currency);
      A.$('stat-stock').textContent = String(p.stock);
      A.$('stat-reserved').textContent = String(p.reserved);
      A.$('stat-sold').textContent = String(p.sold);
      A.$('stat-active').textContent = t(p.active ? 'keys.active' : 'keys.inactive') +
        (p.delivery === 'manual' ? t('keys.manual_suffix') : '');
      return p;
    });
  }

  /* ---- key list ------------------------------------------------------------------------- */

  function keyRow(k) {
    var del = null;
    if (k.status === 'available') {
      del = el('button', { type: 'button', className: 'quiet-danger small delete-key' }, t('common.delete'));
      del.addEventListener('click', function () {
        if (!window.confirm(t('keys.confirm_delete', { key: k.masked }))) return;
        del.disabled = true;
        A.clearError(keysError);
        A.api('DELETE', base + '/keys/' + k.id).then(function () {
          return Promise.all([loadProduct(), loadKeys()]);
        }).catch(function (err) {
          del.disabled = false;
          A.showError(keysError, err);
        });
      });
    }
    return el('tr', { dataset: { id: k.id, status: k.status } },
      el('td', { className: 'num' }, String(k.id)),
      el('td', { className: 'mono masked' }, k.masked),
      el('td', null, el('span', { className: 'badge ' + (/^(available|reserved|sold)$/.test(k.status) ? k.status : '') },
        I18n.has('keys.st.' + k.status) ? t('keys.st.' + k.status) : k.status)),
      el('td', { className: 'nowrap' }, A.formatTime(k.created_at)),
      el('td', null, k.order_id != null ? '#' + k.order_id : ''),
      el('td', { className: 'nowrap' }, k.sold_at ? A.formatTime(k.sold_at) : ''),
      el('td', { className: 'actions' }, del));
  }

  function loadKeys() {
    var q = new URLSearchParams();
    if (state.status) q.set('status', state.status);
    q.set('page', String(state.page));
    syncUrl();
    return A.api('GET', base + '/keys?' + q.toString()).then(function (res) {
      var keys = (res && res.keys) || [];
      state.total = (res && typeof res.total === 'number') ? res.total : keys.length;
      var pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
      if (state.page > pages) { /* e.g. the last key of the last page was deleted */
        state.page = pages;
        return loadKeys();
      }
      var body = A.$('keys-body');
      A.clear(body);
      keys.forEach(function (k) { body.appendChild(keyRow(k)); });
      A.$('keys-empty').classList.toggle('hidden', keys.length > 0);
      A.$('page-info').textContent = t(state.total === 1 ? 'keys.page_one' : 'keys.page_info',
        { page: state.page, pages: pages, n: state.total });
      A.$('page-prev').disabled = state.page <= 1;
      A.$('page-next').disabled = state.page >= pages;
      A.clearError(keysError);
    }).catch(function (err) { A.showError(keysError, err); });
  }

  A.$('status-filter').addEventListener('change', function (ev) {
    state.status = ev.target.value;
    state.page = 1;
    loadKeys();
  });
  A.$('page-prev').addEventListener('click', function () {
    if (state.page > 1) { state.page--; loadKeys(); }
  });
  A.$('page-next').addEventListener('click', function () {
    state.page++;
    loadKeys();
  });

  /* ---- upload ------------------------------------------------------------------------- */

  function showResult(res) {
    A.$('res-added').textContent = String(res.added);
    A.$('res-duplicates').textContent = String(res.duplicates);
    A.$('res-rejected').textContent = String(res.rejected);
    A.$('res-stock').textContent = state.product ? String(state.product.stock) : '?';
    A.$('upload-result').classList.remove('hidden');
  }

  function upload(form, text) {
    A.clearError(uploadError);
    A.$('upload-result').classList.add('hidden');
    return A.busy(form, A.api('POST', base + '/keys', text)).then(function (res) {
      state.page = 1;
      return Promise.all([loadProduct(), loadKeys()]).then(function () {
        showResult(res);
        return res;
      });
    }).catch(function (err) {
      A.showError(uploadError, err);
      throw err;
    });
  }

  var pasteForm = A.$('paste-form');
  pasteForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var area = A.$('keys-text');
    if (!area.value.trim()) {
      A.showError(uploadError, t('keys.err.paste'));
      area.focus();
      return;
    }
    upload(pasteForm, area.value).then(function () { area.value = ''; }, function () { /* shown */ });
  });

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result || '')); };
      reader.onerror = function () { reject(new Error(t('keys.err.read', { file: file.name }))); };
      reader.readAsText(file, 'utf-8');
    });
  }

  var fileForm = A.$('file-form');
  fileForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var input = A.$('keys-file');
    var file = input.files && input.files[0];
    if (!file) {
      A.showError(uploadError, t('keys.err.choose'));
      input.focus();
      return;
    }
    A.clearError(uploadError);
    readFile(file).then(function (text) {
      if (!text.trim()) throw new Error(t('keys.err.empty', { file: file.name }));
      return upload(fileForm, text).then(function () { input.value = ''; }, function () { /* shown */ });
    }).catch(function (err) { A.showError(uploadError, err); });
  });

  /* ---- start -------------------------------------------------------------------------- */

  if (!pid) {
    A.$('product-name').textContent = '?';
    A.showError(pageError, t('keys.err.none'));
    ['upload', 'key-list'].forEach(function (id) { A.$(id).classList.add('hidden'); });
    A.requireSession();
    return;
  }

  A.$('export-link').href = base + '/keys/export';
  A.$('status-filter').value = state.status;

  A.requireSession().then(function () {
    return Promise.all([
      loadProduct().catch(function (err) {
        if (err.status === 404) {
          A.$('product-name').textContent = '#' + pid;
          ['upload', 'key-list'].forEach(function (id) { A.$(id).classList.add('hidden'); });
          A.showError(pageError, t('keys.err.missing', { id: pid }));
        } else {
          A.showError(pageError, err);
        }
      }),
      loadKeys()
    ]);
  }).catch(function (err) { A.showError(pageError, err); });
})();
