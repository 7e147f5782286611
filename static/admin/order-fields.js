/* The buyer's answers to a product's checkout fields, under the product in each order row of
 * /admin/orders (what the merchant needs for a manual delivery, e.g. the game ID to top up).
 * Loaded before /admin/orders.js, which calls window.OrderFields.decorate(row, order).
 * Text only: the answers are the buyer's words. */
(function () {
  'use strict';
  var el = window.CardshopAdmin.el;

  function decorate(row, o) {
    var fields = o && o.fields && typeof o.fields === 'object' ? o.fields : null;
    var names = fields ? Object.keys(fields) : [];
    if (!names.length) return;
    var list = el('dl', { className: 'order-fields' });
    names.forEach(function (n) {
      list.appendChild(el('dt', null, n));
      list.appendChild(el('dd', { className: 'mono' }, String(fields[n])));
    });
    var cell = row.querySelector('td.product-cell') || row.cells[0];
    if (cell) cell.appendChild(list);
  }

  window.OrderFields = { decorate: decorate };
})();
