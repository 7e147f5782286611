/* cardshop shop pages: the string dictionary (English and Simplified Chinese).
 *
 * Language: localStorage "cardshop.lang" when the buyer picked one with the switch link, else
 * navigator.language (zh* -> zh-CN, anything else -> en).
 *
 *   I18n.lang                 "en" | "zh-CN"
 *   I18n.t(key, {n: 3})       the string, "{n}" placeholders replaced (values as text)
 *   I18n.apply(root)          fills [data-i18n] (textContent), [data-i18n-placeholder],
 *                             [data-i18n-aria-label] and [data-i18n-title] under root
 *   I18n.setLang(lang)        stores the choice (the caller reloads)
 *   I18n.other()              the language the switch link offers, with its label
 *   I18n.extend(dict)         adds strings ({en: {...}, 'zh-CN': {...}}): the admin's own
 *                             dictionary (admin-i18n.js) loads after this file on admin pages
 *                             only, so shop pages never carry the admin's strings
 *
 * No markup ever comes from here: every string is set as text. */
(function () {
  'use strict';

  var STORE_KEY = 'cardshop.lang';

  var DICT = {
    en: {
      'lang.name': 'English',
      'banner.demo': 'Demo mode: payments are simulated (sandbox gateway)',
      'nav.home': 'Home',
      'nav.shop': 'Shop',
      'nav.lookup': 'Find my order',
      'nav.skip': 'Skip to content',
      'common.loading': 'Loading…',
      'common.retry': 'Try again',
      'common.back_to_shop': 'Back to the shop',
      'common.footer': 'Digital goods, delivered the moment you pay.',

      'home.title': 'Welcome',
      'home.lead': 'Digital goods, delivered the moment you pay.',
      'home.browse': 'Browse the shop',
      'home.lookup': 'Find an order',
      'home.featured': 'Featured',
      'home.step1': 'Pick a product and pay',
      'home.step2': 'Your keys appear on the delivery page',
      'home.step3': 'Look up your orders any time with your email',

      'catalog.title': 'Shop',
      'catalog.filter': 'Category',
      'catalog.all': 'All',
      'catalog.empty': 'No products here yet.',
      'catalog.buy': 'Buy',
      'catalog.view': 'View',

      'stock.in': 'In stock: {n}',
      'stock.out': 'Sold out',
      'stock.manual': 'On request',
      'delivery.auto': 'Instant delivery',
      'delivery.manual': 'Delivered by the merchant',
      'stock.loop': 'Always in stock',
      'extra.contact': 'Contact us',
      'extra.optional': '(optional)',
      'extra.field_required': '{label}: required',
      'extra.field_too_long': '{label}: at most {n} characters',

      'product.title': 'Product',
      'product.missing_id': 'No product selected.',
      'product.not_found': 'This product does not exist or is no longer for sale.',
      'product.description': 'Description',
      'product.checkout': 'Checkout',
      'product.quantity': 'Quantity',
      'product.quantity_hint': 'From {min} to {max}',
      'product.quantity_hint_min': 'At least {min}',
      'product.email': 'Email',
      'product.email_hint': 'We send the order link here.',
      'product.query_password': 'Query password (optional)',
      'product.query_password_hint': 'At least 4 characters; with your email it lets you find this order later.',
      'product.coupon': 'Coupon code (optional)',
      'product.gateway': 'Payment method',
      'product.total': 'Total',
      'product.tiers': 'Volume prices',
      'product.tier_qty': 'Quantity',
      'product.tier_from': '{n} or more',
      'product.subtotal': 'Subtotal',
      'product.discount': 'Coupon discount',
      'product.coupon_applied': 'Coupon applied: you save {amount}.',
      'product.coupon_partial': 'The coupon has {n} use(s) left, so it covers {n} of these units: you save {amount}.',
      'product.quote_failed': 'The price could not be checked; the total is confirmed when you place the order.',
      'product.submit': 'Place order',
      'product.submitting': 'Placing the order…',
      'product.sold_out': 'This product is sold out for now.',
      'product.no_gateway': 'No payment method is available right now.',
      'product.unit_price': 'Unit price',

      'gateway.sandbox': 'Sandbox (simulated payment)',
      'gateway.epay': 'EPay (Alipay / WeChat Pay)',
      'gateway.alipay': 'Alipay',
      'gateway.stripe': 'Card (Stripe)',
      'gateway.wechat': 'WeChat Pay',
      'qrpay.title': 'Scan to pay',
      'qrpay.qr_label': 'QR code to scan with the payment app',
      'qrpay.hint_alipay': 'Open Alipay on your phone, tap Scan and point it at this code.',
      'qrpay.hint_wechat': 'Open WeChat on your phone, tap Scan and point it at this code.',
      'qrpay.open_alipay': 'Open in the Alipay app',
      'qrpay.open_wechat': 'Open in WeChat',
      'qrpay.time_left': 'Time left',
      'qrpay.waiting': 'Waiting for your payment…',
      'qrpay.no_qr': 'This order has no code to scan (it may have been paid or expired).',
      'qrpay.qr_failed': 'The code could not be loaded. Reload the page to try again.',
      'gateway.epusdt': 'USDT (crypto)',
      'channel.alipay': 'Alipay',
      'channel.wxpay': 'WeChat Pay',
      'channel.qqpay': 'QQ Wallet',
      'channel.bank': 'UnionPay / bank card',
      'channel.jdpay': 'JD Pay',
      'channel.usdt': 'USDT',
      'err.gateway_unavailable': 'This payment method is not available right now. Please choose another one.',

      'field.product_id': 'Product',
      'field.quantity': 'Quantity',
      'field.email': 'Email',
      'field.gateway': 'Payment method',
      'field.coupon': 'Coupon',
      'field.query_password': 'Query password',

      'err.out_of_stock': 'Sorry, not enough stock left.',
      'err.rate_limited': 'Too many attempts, wait a moment.',
      'err.rate_limited_secs': 'Too many attempts, wait a moment (about {n} s).',
      'err.network': 'Network error: check your connection and try again.',
      'err.internal': 'Something went wrong on our side. Please try again.',
      'err.unavailable': 'The shop is busy right now. Please try again shortly.',
      'err.unavailable_secs': 'The shop is busy right now. Please try again in about {n} s.',
      'err.challenge': 'The browser check did not complete. Please try again.',
      'pow.checking': 'Checking your browser…',
      'err.not_found': 'Not found.',
      'err.coupon': 'This coupon cannot be used.',
      'err.generic': 'Something went wrong. Please try again.',
      'err.conflict': 'This order is not awaiting payment any more.',
      'err.forbidden': 'This action is not allowed.',
      'err.too_large': 'The request is too large.',

      'pay.title': 'Sandbox payment',
      'pay.gateway_name': 'Sandbox gateway',
      'pay.explain': 'This is a simulated gateway: no money moves. Pressing the button tells the shop that this order was paid.',
      'pay.order_no': 'Order number',
      'pay.product': 'Product',
      'pay.amount': 'Amount',
      'pay.pay_now': 'Pay now (simulated)',
      'pay.paying': 'Sending the payment…',
      'pay.waiting': 'Payment sent. Waiting for the shop to confirm…',
      'pay.still_waiting': 'Still waiting for the confirmation…',
      'pay.view_order': 'Go to the order page',
      'pay.confirmed': 'Payment confirmed. Opening your order…',
      'pay.missing': 'This payment link is incomplete.',
      'pay.not_found': 'Order not found. The payment link may be wrong.',
      'pay.expired': 'This order expired before it was paid.',
      'pay.not_pending': 'This order is not awaiting payment.',

      'order.title': 'Your order',
      'order.missing': 'No order number in this link.',
      'order.not_found': 'Order not found. Check the link, or look the order up with your email.',
      'order.order_no': 'Order number',
      'order.product': 'Product',
      'order.quantity': 'Quantity',
      'order.amount': 'Amount',
      'order.created': 'Created',
      'order.paid': 'Paid',
      'order.status': 'Status',
      'order.keys': 'Your keys',
      'order.copy': 'Copy',
      'order.copied': 'Copied',
      'order.copy_all': 'Copy all',
      'order.copy_failed': 'Copy failed: select the key and copy it by hand.',
      'order.keep_link': 'Keep this page’s address: it is your access to the keys.',
      'order.pending': 'Waiting for payment.',
      'order.remaining': 'Time left to pay: {t}',
      'order.expiring': 'The payment window is closing…',
      'order.continue_pay': 'Continue to payment',
      'order.paid_msg': 'Payment received. The merchant will deliver your order soon; this page updates by itself.',
      'order.paid_undelivered_msg': 'Payment received, but the item sold out meanwhile. The merchant has been alerted and will contact you.',
      'order.expired_msg': 'This order expired before it was paid.',
      'order.back_to_product': 'Back to the product',
      'order.refunded_msg': 'This order was refunded.',
      'order.cancelled_msg': 'This order was cancelled.',
      'order.delivered_msg': 'Delivered. Thank you for your purchase!',
      'order.no_keys': 'No keys are attached to this order.',
      'order.lookup_link': 'Find my order',

      'status.pending': 'Awaiting payment',
      'status.paid': 'Paid',
      'status.delivered': 'Delivered',
      'status.expired': 'Expired',
      'status.paid_undelivered': 'Paid, awaiting stock',
      'status.refunded': 'Refunded',
      'status.cancelled': 'Cancelled',

      'lookup.title': 'Find my order',
      'lookup.lead': 'Enter the email and the query password you gave at checkout.',
      'lookup.email': 'Email',
      'lookup.password': 'Query password',
      'lookup.submit': 'Search',
      'lookup.searching': 'Searching…',
      'lookup.results': 'Orders found',
      'lookup.none': 'No orders match this email and query password.',
      'lookup.recent': 'My recent orders',
      'lookup.recent_lead': 'Orders placed in this browser.',
      'lookup.recent_none': 'No orders were placed in this browser yet.',
      'lookup.open': 'Open',
      'lookup.mail_title': 'No query password?',
      'lookup.mail_lead': 'We can email the links to your orders to the address you gave at checkout.',
      'lookup.mail_submit': 'Email me my order links',
      'lookup.mail_sending': 'Sending…',
      'lookup.mail_sent': 'If there are orders for this address, we have sent their links to it.'
    },

    'zh-CN': {
      'lang.name': '中文',
      'banner.demo': '演示模式：支付为模拟（沙盒网关）',
      'nav.home': '首页',
      'nav.shop': '商店',
      'nav.lookup': '查询订单',
      'nav.skip': '跳到正文',
      'common.loading': '加载中…',
      'common.retry': '重试',
      'common.back_to_shop': '返回商店',
      'common.footer': '数字商品，付款即发货。',

      'home.title': '欢迎',
      'home.lead': '数字商品，付款即发货。',
      'home.browse': '进入商店',
      'home.lookup': '查询订单',
      'home.featured': '精选商品',
      'home.step1': '选择商品并付款',
      'home.step2': '卡密立即显示在提货页面',
      'home.step3': '随时用邮箱查询订单',

      'catalog.title': '商店',
      'catalog.filter': '分类',
      'catalog.all': '全部',
      'catalog.empty': '这里还没有商品。',
      'catalog.buy': '购买',
      'catalog.view': '查看',

      'stock.in': '库存：{n}',
      'stock.out': '已售罄',
      'stock.manual': '人工发货',
      'delivery.auto': '自动发货',
      'delivery.manual': '商家人工发货',
      'stock.loop': '库存充足',
      'extra.contact': '联系我们',
      'extra.optional': '（可选）',
      'extra.field_required': '{label}：必填',
      'extra.field_too_long': '{label}：最多 {n} 个字符',

      'product.title': '商品',
      'product.missing_id': '未选择商品。',
      'product.not_found': '该商品不存在或已下架。',
      'product.description': '商品说明',
      'product.checkout': '下单',
      'product.quantity': '数量',
      'product.quantity_hint': '{min} 至 {max}',
      'product.quantity_hint_min': '至少 {min}',
      'product.email': '邮箱',
      'product.email_hint': '订单链接将发送到此邮箱。',
      'product.query_password': '查询密码（可选）',
      'product.query_password_hint': '至少 4 个字符；凭邮箱和此密码可查询订单。',
      'product.coupon': '优惠码（可选）',
      'product.gateway': '支付方式',
      'product.total': '合计',
      'product.tiers': '批量价格',
      'product.tier_qty': '数量',
      'product.tier_from': '{n} 件及以上',
      'product.subtotal': '小计',
      'product.discount': '优惠码折扣',
      'product.coupon_applied': '优惠码已生效：节省 {amount}。',
      'product.coupon_partial': '该优惠码仅剩 {n} 次可用，只抵扣其中 {n} 件：节省 {amount}。',
      'product.quote_failed': '暂时无法核对价格，下单时将确认总价。',
      'product.submit': '提交订单',
      'product.submitting': '正在提交订单…',
      'product.sold_out': '该商品暂时售罄。',
      'product.no_gateway': '当前没有可用的支付方式。',
      'product.unit_price': '单价',

      'gateway.sandbox': '沙盒（模拟支付）',
      'gateway.epay': '易支付（支付宝 / 微信支付）',
      'gateway.alipay': '支付宝',
      'gateway.stripe': '银行卡（Stripe）',
      'gateway.wechat': '微信支付',
      'qrpay.title': '扫码支付',
      'qrpay.qr_label': '用支付应用扫描的二维码',
      'qrpay.hint_alipay': '打开手机支付宝，点击“扫一扫”，对准此二维码。',
      'qrpay.hint_wechat': '打开手机微信，点击“扫一扫”，对准此二维码。',
      'qrpay.open_alipay': '在支付宝中打开',
      'qrpay.open_wechat': '在微信中打开',
      'qrpay.time_left': '剩余时间',
      'qrpay.waiting': '正在等待付款…',
      'qrpay.no_qr': '该订单没有可扫描的二维码（可能已付款或已过期）。',
      'qrpay.qr_failed': '二维码加载失败，请刷新页面重试。',
      'gateway.epusdt': 'USDT（加密货币）',
      'channel.alipay': '支付宝',
      'channel.wxpay': '微信支付',
      'channel.qqpay': 'QQ钱包',
      'channel.bank': '云闪付 / 银行卡',
      'channel.jdpay': '京东支付',
      'channel.usdt': 'USDT',
      'err.gateway_unavailable': '该支付方式暂时不可用，请选择其他支付方式。',

      'field.product_id': '商品',
      'field.quantity': '数量',
      'field.email': '邮箱',
      'field.gateway': '支付方式',
      'field.coupon': '优惠码',
      'field.query_password': '查询密码',

      'err.out_of_stock': '抱歉，库存不足。',
      'err.rate_limited': '尝试次数过多，请稍候。',
      'err.rate_limited_secs': '尝试次数过多，请稍候（约 {n} 秒）。',
      'err.network': '网络错误：请检查网络连接后重试。',
      'err.internal': '服务器出错了，请重试。',
      'err.unavailable': '商店繁忙，请稍后再试。',
      'err.unavailable_secs': '商店繁忙，请约 {n} 秒后再试。',
      'err.challenge': '浏览器检查未完成，请重试。',
      'pow.checking': '正在检查您的浏览器…',
      'err.not_found': '未找到。',
      'err.coupon': '此优惠码无法使用。',
      'err.generic': '出错了，请重试。',
      'err.conflict': '该订单已不在待支付状态。',
      'err.forbidden': '不允许此操作。',
      'err.too_large': '请求内容过大。',

      'pay.title': '沙盒支付',
      'pay.gateway_name': '沙盒网关',
      'pay.explain': '这是模拟网关，不会产生真实扣款。点击按钮即通知商店该订单已付款。',
      'pay.order_no': '订单号',
      'pay.product': '商品',
      'pay.amount': '金额',
      'pay.pay_now': '立即支付（模拟）',
      'pay.paying': '正在发送付款…',
      'pay.waiting': '已付款，正在等待商店确认…',
      'pay.still_waiting': '仍在等待确认…',
      'pay.view_order': '查看订单页面',
      'pay.confirmed': '付款已确认，正在打开订单…',
      'pay.missing': '支付链接不完整。',
      'pay.not_found': '未找到订单，支付链接可能有误。',
      'pay.expired': '该订单在付款前已过期。',
      'pay.not_pending': '该订单不在待支付状态。',

      'order.title': '您的订单',
      'order.missing': '链接中缺少订单号。',
      'order.not_found': '未找到订单。请检查链接，或用邮箱查询订单。',
      'order.order_no': '订单号',
      'order.product': '商品',
      'order.quantity': '数量',
      'order.amount': '金额',
      'order.created': '下单时间',
      'order.paid': '付款时间',
      'order.status': '状态',
      'order.keys': '您的卡密',
      'order.copy': '复制',
      'order.copied': '已复制',
      'order.copy_all': '全部复制',
      'order.copy_failed': '复制失败：请手动选择并复制。',
      'order.keep_link': '请保存本页地址：它是您提取卡密的凭证。',
      'order.pending': '等待付款。',
      'order.remaining': '剩余付款时间：{t}',
      'order.expiring': '付款时间即将结束…',
      'order.continue_pay': '继续付款',
      'order.paid_msg': '已收到付款，商家将尽快发货；本页面会自动更新。',
      'order.paid_undelivered_msg': '已收到付款，但商品在此期间售罄。已通知商家，商家会与您联系。',
      'order.expired_msg': '该订单在付款前已过期。',
      'order.back_to_product': '返回商品页',
      'order.refunded_msg': '该订单已退款。',
      'order.cancelled_msg': '该订单已取消。',
      'order.delivered_msg': '已发货，感谢您的购买！',
      'order.no_keys': '该订单没有卡密。',
      'order.lookup_link': '查询订单',

      'status.pending': '待付款',
      'status.paid': '已付款',
      'status.delivered': '已发货',
      'status.expired': '已过期',
      'status.paid_undelivered': '已付款，待补货',
      'status.refunded': '已退款',
      'status.cancelled': '已取消',

      'lookup.title': '查询订单',
      'lookup.lead': '请输入下单时填写的邮箱和查询密码。',
      'lookup.email': '邮箱',
      'lookup.password': '查询密码',
      'lookup.submit': '查询',
      'lookup.searching': '查询中…',
      'lookup.results': '查询结果',
      'lookup.none': '没有与该邮箱和查询密码匹配的订单。',
      'lookup.recent': '我的最近订单',
      'lookup.recent_lead': '在此浏览器中下的订单。',
      'lookup.recent_none': '此浏览器中还没有订单。',
      'lookup.open': '打开',
      'lookup.mail_title': '没有设置查询密码？',
      'lookup.mail_lead': '我们可以把您的订单链接发送到您下单时填写的邮箱。',
      'lookup.mail_submit': '把订单链接发到我的邮箱',
      'lookup.mail_sending': '发送中…',
      'lookup.mail_sent': '如果该邮箱有订单，我们已将订单链接发送到该邮箱。'
    }
  };

  /* Known server messages after "field: ", for a friendlier Chinese text. */
  var SERVER_MESSAGES = {
    'zh-CN': {
      'not a valid address': '不是有效的邮箱地址',
      'at least 4 characters': '至少 4 个字符',
      'no such product': '商品不存在',
      'not available': '不可用',
      'unknown code': '不存在',
      'expired': '已过期',
      'used up': '已用完',
      'not valid for this product': '不适用于该商品',
      'total too large': '总金额过大',
      'required': '必填'
    }
  };

  function pickLang() {
    var stored = null;
    try { stored = window.localStorage.getItem(STORE_KEY); } catch (e) { stored = null; }
    if (stored && Object.prototype.hasOwnProperty.call(DICT, stored)) return stored;
    var nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
    return /^zh/i.test(nav) ? 'zh-CN' : 'en';
  }

  var lang = pickLang();

  function t(key, params) {
    var s = DICT[lang][key];
    if (s === undefined) s = DICT.en[key];
    if (s === undefined) return key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
      });
    }
    return s;
  }

  function has(key) {
    return DICT[lang][key] !== undefined || DICT.en[key] !== undefined;
  }

  /* A server message such as "quantity: must be from 1 to 5", translated where we know it. */
  function serverMessage(text) {
    var table = SERVER_MESSAGES[lang];
    if (!table) return text;
    if (Object.prototype.hasOwnProperty.call(table, text)) return table[text];
    var m = /^must be from (\d+) to (\d+)$/.exec(text);
    if (m && lang === 'zh-CN') return '必须在 ' + m[1] + ' 至 ' + m[2] + ' 之间';
    return text;
  }

  function apply(root) {
    root = root || document;
    var i, n, nodes;
    nodes = root.querySelectorAll('[data-i18n]');
    for (i = 0, n = nodes.length; i < n; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    nodes = root.querySelectorAll('[data-i18n-placeholder]');
    for (i = 0, n = nodes.length; i < n; i++) nodes[i].placeholder = t(nodes[i].getAttribute('data-i18n-placeholder'));
    nodes = root.querySelectorAll('[data-i18n-aria-label]');
    for (i = 0, n = nodes.length; i < n; i++) nodes[i].setAttribute('aria-label', t(nodes[i].getAttribute('data-i18n-aria-label')));
    nodes = root.querySelectorAll('[data-i18n-title]');
    for (i = 0, n = nodes.length; i < n; i++) nodes[i].title = t(nodes[i].getAttribute('data-i18n-title'));
  }

  function setLang(next) {
    if (!Object.prototype.hasOwnProperty.call(DICT, next)) return;
    try { window.localStorage.setItem(STORE_KEY, next); } catch (e) { /* private mode: this page only */ }
    lang = next;
    api.lang = next;
  }

  function other() {
    var code = lang === 'zh-CN' ? 'en' : 'zh-CN';
    return { code: code, label: DICT[code]['lang.name'] };
  }

  function extend(more) {
    Object.keys(more).forEach(function (code) {
      if (!Object.prototype.hasOwnProperty.call(DICT, code)) return; /* a language we do not offer */
      Object.keys(more[code]).forEach(function (k) { DICT[code][k] = more[code][k]; });
    });
  }

  var api = { lang: lang, t: t, has: has, apply: apply, setLang: setLang, other: other,
              serverMessage: serverMessage, extend: extend };
  window.I18n = api;
})();
