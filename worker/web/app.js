/* jury: the annotation page served by `juror web` (worker/WEB.md is its API), with a review mode
 * for reviewers and admins.
 *
 * Plain script, no dependencies. Record text is untrusted: it only ever reaches the DOM through
 * createElement + textContent (the markdown renderer below builds nodes, never HTML strings), and
 * the only URLs put into attributes are http:, https: and mailto: links that parsed as such. */
(function () {
  'use strict';

  /* ------------------------------------------------------------------------------------------
   * Small DOM helpers
   * ---------------------------------------------------------------------------------------- */

  function $(id) {
    return document.getElementById(id);
  }

  /* el('div', {className: 'x', 'data-question': 'q'}, [child, 'text']) */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'className') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k === 'hidden') node.hidden = !!v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    if (children) append(node, children);
    return node;
  }

  function append(node, children) {
    (Array.isArray(children) ? children : [children]).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, on) {
    node.hidden = !on;
  }

  function safeId(name) {
    return String(name).replace(/[^A-Za-z0-9_-]/g, '_');
  }

  var announceTimer = 0;
  /* Says something to screen readers without showing it. */
  function announce(text) {
    var a = $('announce');
    a.textContent = '';
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      a.textContent = text;
    }, 30);
  }

  /* obj[key] when obj has it as its own property (names like "__proto__" are valid here) */
  function own(obj, key) {
    return obj && Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
  }

  function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }

  /* Options of a label/ranking question: a list of values or a {value: title} object, as an
   * array of {value, title} in order. */
  function options(spec) {
    if (Array.isArray(spec)) {
      return spec.map(function (v) {
        return { value: String(v), title: String(v) };
      });
    }
    if (isObject(spec)) {
      return Object.keys(spec).map(function (k) {
        var t = spec[k];
        return { value: k, title: typeof t === 'string' && t !== '' ? t : k };
      });
    }
    return [];
  }

  /* ------------------------------------------------------------------------------------------
   * Markdown: a small renderer that builds DOM nodes. Supports paragraphs, ATX and setext
   * headings, emphasis, strong, strikethrough, inline code, fenced code blocks, bullet and
   * numbered lists (nested), blockquotes, rules, links and autolinks (http, https, mailto only)
   * and images (shown as their alt text). Anything else, HTML included, stays literal text.
   * ---------------------------------------------------------------------------------------- */

  var MD_MAX_DEPTH = 12; /* nesting of blocks and inline spans */
  var MD_MAX_CHARS = 200000; /* longer text is shown plain */
  var SAFE_PROTOCOLS = { 'http:': true, 'https:': true, 'mailto:': true };

  function renderMarkdown(src, container) {
    src = typeof src === 'string' ? src : String(src);
    container.classList.add('md');
    if (src.length > MD_MAX_CHARS) {
      container.appendChild(el('div', { className: 'plain-text', text: src }));
      return container;
    }
    var lines = src.replace(/\r\n?/g, '\n').split('\n').map(function (l) {
      return l.replace(/^\t+/, function (t) {
        return '    '.repeat(t.length);
      });
    });
    mdBlocks(lines, container, 0);
    return container;
  }

  var RE_FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
  var RE_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*))?$/;
  var RE_HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  var RE_QUOTE = /^ {0,3}> ?/;
  var RE_LIST = /^( {0,3})([-*+]|(\d{1,9})([.)]))(?:([ \t]+)(.*))?$/;
  var RE_SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;

  function isBlank(line) {
    return /^[ \t]*$/.test(line);
  }

  function indentOf(line) {
    var m = /^ */.exec(line);
    return m[0].length;
  }

  function isFence(line) {
    var m = RE_FENCE.exec(line);
    return !!m && !(m[2][0] === '`' && m[3].indexOf('`') >= 0);
  }

  /* Whether line starts a block that ends a paragraph. */
  function startsBlock(line) {
    if (isFence(line) || RE_HEADING.test(line) || RE_HR.test(line) || RE_QUOTE.test(line))
      return true;
    var m = RE_LIST.exec(line);
    if (!m || !m[6] || isBlank(m[6])) return false;
    return !m[3] || m[3] === '1';
  }

  function mdBlocks(lines, parent, depth) {
    var i = 0;
    var m;
    if (depth > MD_MAX_DEPTH) {
      parent.appendChild(el('div', { className: 'plain-text', text: lines.join('\n') }));
      return;
    }
    while (i < lines.length) {
      var line = lines[i];
      if (isBlank(line)) {
        i++;
        continue;
      }
      /* fenced code */
      if (isFence(line)) {
        m = RE_FENCE.exec(line);
        var indent = m[1].length;
        var fence = m[2];
        var body = [];
        i++;
        while (i < lines.length) {
          var c = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[i]);
          if (c && c[1][0] === fence[0] && c[1].length >= fence.length) {
            i++;
            break;
          }
          body.push(lines[i].replace(new RegExp('^ {0,' + indent + '}'), ''));
          i++;
        }
        var code = el('code', { text: body.join('\n') });
        var lang = m[3].trim().split(/\s+/)[0];
        if (lang && /^[A-Za-z0-9_+#.-]{1,40}$/.test(lang)) code.setAttribute('data-lang', lang);
        parent.appendChild(el('pre', null, code));
        continue;
      }
      /* ATX heading */
      m = RE_HEADING.exec(line);
      if (m) {
        var text = (m[2] || '').replace(/(^|[ \t]+)#+[ \t]*$/, '').trim();
        var h = el('h' + m[1].length);
        mdInline(text, h, 0, false);
        parent.appendChild(h);
        i++;
        continue;
      }
      /* rule */
      if (RE_HR.test(line)) {
        parent.appendChild(el('hr'));
        i++;
        continue;
      }
      /* blockquote */
      if (RE_QUOTE.test(line)) {
        var inner = [];
        while (i < lines.length && RE_QUOTE.test(lines[i])) {
          inner.push(lines[i].replace(RE_QUOTE, ''));
          i++;
        }
        var bq = el('blockquote');
        mdBlocks(inner, bq, depth + 1);
        parent.appendChild(bq);
        continue;
      }
      /* list */
      if (RE_LIST.test(line)) {
        i = mdList(lines, i, parent, depth);
        continue;
      }
      /* paragraph, or a setext heading */
      var para = [line.replace(/^ +/, '')];
      var level = 0;
      i++;
      while (i < lines.length && !isBlank(lines[i])) {
        var s = RE_SETEXT.exec(lines[i]);
        if (s) {
          level = s[1][0] === '=' ? 1 : 2;
          i++;
          break;
        }
        if (startsBlock(lines[i])) break;
        para.push(lines[i].replace(/^ +/, ''));
        i++;
      }
      var p = el(level ? 'h' + level : 'p');
      mdInline(level ? para.join(' ').trim() : para.join('\n').replace(/[ \t]+$/, ''), p, 0, false);
      parent.appendChild(p);
    }
  }

  function mdList(lines, i, parent, depth) {
    var first = RE_LIST.exec(lines[i]);
    var ordered = !!first[3];
    var marker = ordered ? first[4] : first[2];
    var list = el(ordered ? 'ol' : 'ul');
    if (ordered) {
      var start = parseInt(first[3], 10);
      if (start !== 1) list.setAttribute('start', String(start));
    }
    var loose = false;
    while (i < lines.length) {
      var m = RE_LIST.exec(lines[i]);
      if (!m || !!m[3] !== ordered || (ordered ? m[4] : m[2]) !== marker) break;
      var gap = m[5] ? m[5].length : 1;
      if (gap > 4) gap = 1;
      var contentIndent = m[1].length + m[2].length + gap;
      var item = [m[6] || ''];
      i++;
      while (i < lines.length) {
        var l = lines[i];
        if (isBlank(l)) {
          var j = i + 1;
          while (j < lines.length && isBlank(lines[j])) j++;
          if (j < lines.length && indentOf(lines[j]) >= contentIndent) {
            for (; i < j; i++) item.push('');
            loose = true;
            continue;
          }
          break;
        }
        if (indentOf(l) >= contentIndent) {
          item.push(l.slice(contentIndent));
          i++;
          continue;
        }
        if (RE_LIST.test(l) || startsBlock(l)) break;
        if (!isBlank(item[item.length - 1])) {
          item.push(l.replace(/^ +/, ''));
          i++;
          continue;
        }
        break;
      }
      var li = el('li');
      mdBlocks(item, li, depth + 1);
      list.appendChild(li);
      /* a blank line, then another item of the same list: a loose list */
      if (i < lines.length && isBlank(lines[i])) {
        var k = i;
        while (k < lines.length && isBlank(lines[k])) k++;
        var n = k < lines.length ? RE_LIST.exec(lines[k]) : null;
        if (n && !!n[3] === ordered && (ordered ? n[4] : n[2]) === marker) {
          loose = true;
          i = k;
          continue;
        }
        break;
      }
    }
    if (!loose) {
      /* tight list: items hold their text directly, not in paragraphs */
      Array.prototype.forEach.call(list.children, function (li) {
        Array.prototype.slice.call(li.children).forEach(function (ch) {
          if (ch.tagName === 'P') {
            while (ch.firstChild) li.insertBefore(ch.firstChild, ch);
            li.removeChild(ch);
          }
        });
      });
    }
    parent.appendChild(list);
    return i;
  }

  var RE_AUTOLINK = /<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>/y;
  var RE_AUTOMAIL = /<([^\s<>@()[\]\\,;:"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>/y;
  var RE_BARE_URL = /https?:\/\/[^\s<>"`]{1,2048}/iy;

  function isSpace(c) {
    return c === undefined || c === '' || /\s/.test(c);
  }

  function isAlnum(c) {
    return c !== undefined && /[\p{L}\p{N}]/u.test(c);
  }

  function runLength(s, i, ch) {
    var n = 0;
    while (s[i + n] === ch) n++;
    return n;
  }

  /* Where a code span opened at i (n backticks) closes, or -1. */
  function codeClose(s, i, n) {
    var from = i + n;
    for (;;) {
      var j = s.indexOf('`', from);
      if (j < 0) return -1;
      var k = runLength(s, j, '`');
      if (k === n) return j;
      from = j + k;
    }
  }

  function safeUrl(dest) {
    if (typeof dest !== 'string' || dest === '' || /[\u0000-\u0020\u007f]/.test(dest)) return null;
    var u;
    try {
      u = new URL(dest);
    } catch (e) {
      return null;
    }
    return SAFE_PROTOCOLS[u.protocol] ? u.href : null;
  }

  function makeLink(href, parentNode) {
    var a = el('a', { href: href, rel: 'noopener noreferrer', target: '_blank' });
    parentNode.appendChild(a);
    return a;
  }

  /* Parses "(dest "title")" starting at s[i] === '('. Returns {dest, end} (end after ')') or
   * null. */
  function linkTail(s, i) {
    if (s[i] !== '(' || s.indexOf(')', i) < 0) return null;
    var j = i + 1;
    while (s[j] === ' ' || s[j] === '\n') j++;
    var dest = '';
    if (s[j] === '<') {
      var close = s.indexOf('>', j + 1);
      if (close < 0) return null;
      dest = s.slice(j + 1, close);
      if (/[\n<]/.test(dest)) return null;
      j = close + 1;
    } else {
      var depth = 0;
      var start = j;
      var limit = Math.min(s.length, j + 2048);
      while (j < limit) {
        var c = s[j];
        if (c === '\\' && j + 1 < s.length) {
          j += 2;
          continue;
        }
        if (/\s/.test(c)) break;
        if (c === '(') depth++;
        else if (c === ')') {
          if (depth === 0) break;
          depth--;
        }
        j++;
      }
      dest = s.slice(start, j);
    }
    while (s[j] === ' ' || s[j] === '\n') j++;
    if (s[j] === '"' || s[j] === "'" || s[j] === '(') {
      var endCh = s[j] === '(' ? ')' : s[j];
      var t = s.indexOf(endCh, j + 1);
      if (t < 0) return null;
      j = t + 1;
      while (s[j] === ' ' || s[j] === '\n') j++;
    }
    if (s[j] !== ')') return null;
    return { dest: dest.replace(/\\([!-/:-@[-`{-~])/g, '$1'), end: j + 1 };
  }

  /* Index of the ']' matching the '[' at i, or -1 (looks at most 1000 characters ahead). */
  function bracketClose(s, i) {
    var level = 0;
    var limit = Math.min(s.length, i + 1000);
    for (var j = i; j < limit; j++) {
      var c = s[j];
      if (c === '\\') {
        j++;
      } else if (c === '`') {
        var n = runLength(s, j, '`');
        var k = codeClose(s, j, n);
        j = k < 0 ? j + n - 1 : k + n - 1;
      } else if (c === '[') {
        level++;
      } else if (c === ']') {
        level--;
        if (level === 0) return j;
      }
    }
    return -1;
  }

  /* Finds the closing delimiter for an emphasis run of n ch at i. Returns {at, len} of the
   * closing characters used, or null. */
  function emphasisClose(s, i, ch, n) {
    var j = i + n;
    while (j < s.length) {
      var c = s[j];
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (c === '`') {
        var bn = runLength(s, j, '`');
        var bk = codeClose(s, j, bn);
        j = bk < 0 ? j + bn : bk + bn;
        continue;
      }
      if (c === ch) {
        var k = runLength(s, j, ch);
        var okFlank = !isSpace(s[j - 1]) && (ch !== '_' || !isAlnum(s[j + k]));
        var okLen = ch === '~' ? k === 2 : n === 1 ? k === 1 || k >= 3 : k >= n;
        if (okFlank && okLen && j > i + n) return { at: j + k - n, len: n };
        j += k;
        continue;
      }
      j++;
    }
    return null;
  }

  function mdInline(s, parent, depth, inLink) {
    var buf = '';
    var i = 0;
    var fails = {}; /* "char+n" -> position from which no closer exists */
    function flush() {
      if (buf) parent.appendChild(document.createTextNode(buf));
      buf = '';
    }
    function wrap(tag, content) {
      flush();
      var node = el(tag);
      if (depth + 1 > MD_MAX_DEPTH) node.textContent = content;
      else mdInline(content, node, depth + 1, inLink);
      parent.appendChild(node);
      return node;
    }
    while (i < s.length) {
      var c = s[i];
      /* backslash escape and hard break */
      if (c === '\\') {
        var nx = s[i + 1];
        if (nx === '\n') {
          flush();
          parent.appendChild(el('br'));
          i += 2;
          continue;
        }
        if (nx !== undefined && /[!-/:-@[-`{-~]/.test(nx)) {
          buf += nx;
          i += 2;
          continue;
        }
        buf += c;
        i++;
        continue;
      }
      if (c === '\n') {
        if (/ {2,}$/.test(buf)) {
          buf = buf.replace(/ +$/, '');
          flush();
          parent.appendChild(el('br'));
        } else {
          buf = buf.replace(/ +$/, '') + '\n';
        }
        i++;
        while (s[i] === ' ') i++;
        continue;
      }
      /* code span */
      if (c === '`') {
        var n = runLength(s, i, '`');
        var close = fails['`' + n] !== undefined && i >= fails['`' + n] ? -1 : codeClose(s, i, n);
        if (close < 0) {
          fails['`' + n] = i;
          buf += s.substr(i, n);
          i += n;
          continue;
        }
        var content = s.slice(i + n, close).replace(/\n/g, ' ');
        if (/^ [^]*[^ ][^]* $/.test(content)) content = content.slice(1, -1);
        flush();
        parent.appendChild(el('code', { text: content }));
        i = close + n;
        continue;
      }
      /* emphasis, strong, strikethrough */
      if (c === '*' || c === '_' || c === '~') {
        var run = runLength(s, i, c);
        var opener = !isSpace(s[i + run]) && (c !== '_' || !isAlnum(s[i - 1]));
        if (c === '~' && run !== 2) opener = false;
        var matched = false;
        /* the opener is the run's last `want` characters: 3 (em+strong), else 2, else 1 */
        for (var want = c === '~' ? 2 : Math.min(run, 3); opener && want >= (c === '~' ? 2 : 1); want--) {
          var at = i + run - want;
          var key = c + want;
          if (fails[key] !== undefined && at >= fails[key]) continue;
          var found = emphasisClose(s, at, c, want);
          if (!found) {
            fails[key] = at;
            continue;
          }
          buf += s.slice(i, at);
          var inner = s.slice(at + want, found.at);
          if (c === '~') {
            wrap('del', inner);
          } else if (want === 3) {
            flush();
            var em = el('em');
            var strong = el('strong');
            em.appendChild(strong);
            parent.appendChild(em);
            if (depth + 2 > MD_MAX_DEPTH) strong.textContent = inner;
            else mdInline(inner, strong, depth + 2, inLink);
          } else {
            wrap(want === 2 ? 'strong' : 'em', inner);
          }
          i = found.at + found.len;
          matched = true;
          break;
        }
        if (matched) continue;
        buf += s.substr(i, run);
        i += run;
        continue;
      }
      /* links and images */
      if (c === '[' || (c === '!' && s[i + 1] === '[')) {
        var image = c === '!';
        var open = image ? i + 1 : i;
        var endLabel = fails['['] !== undefined && open >= fails['['] ? -1 : bracketClose(s, open);
        var tail = endLabel >= 0 ? linkTail(s, endLabel + 1) : null;
        if (endLabel < 0 && s.indexOf(']', open) < 0) fails['['] = open;
        if (tail) {
          var label = s.slice(open + 1, endLabel);
          if (image) {
            flush();
            var alt = label.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/[*_`]/g, '').trim();
            parent.appendChild(el('span', { className: 'md-image', text: alt || 'image' }));
            i = tail.end;
            continue;
          }
          var href = inLink ? null : safeUrl(tail.dest);
          if (href) {
            flush();
            var a = makeLink(href, parent);
            if (depth + 1 > MD_MAX_DEPTH) a.textContent = label;
            else mdInline(label, a, depth + 1, true);
            i = tail.end;
            continue;
          }
          /* an unsafe or relative link: its source, as text */
          buf += s.slice(i, tail.end);
          i = tail.end;
          continue;
        }
        buf += c;
        i++;
        continue;
      }
      /* <autolink> */
      if (c === '<') {
        RE_AUTOLINK.lastIndex = i;
        var am = RE_AUTOLINK.exec(s);
        var mm = null;
        if (!am) {
          RE_AUTOMAIL.lastIndex = i;
          mm = RE_AUTOMAIL.exec(s);
        }
        var target = am ? safeUrl(am[1]) : mm ? safeUrl('mailto:' + mm[1]) : null;
        if (target && !inLink) {
          flush();
          makeLink(target, parent).textContent = am ? am[1] : mm[1];
          i += (am || mm)[0].length;
          continue;
        }
        buf += c;
        i++;
        continue;
      }
      /* bare http(s) URL */
      if ((c === 'h' || c === 'H') && !inLink && !isAlnum(s[i - 1])) {
        RE_BARE_URL.lastIndex = i;
        var um = RE_BARE_URL.exec(s);
        if (um) {
          var url = um[0];
          /* trailing punctuation is the sentence's, and so is an unbalanced ')' */
          var opens = url.split('(').length - 1;
          var closes = url.split(')').length - 1;
          for (;;) {
            var last = url[url.length - 1];
            if (/[.,;:!?'"*_~\]]/.test(last)) {
              url = url.slice(0, -1);
            } else if (last === ')' && opens < closes) {
              url = url.slice(0, -1);
              closes--;
            } else {
              break;
            }
          }
          var safe = /^https?:\/\/[^/?#]/i.test(url) ? safeUrl(url) : null;
          if (safe) {
            flush();
            makeLink(safe, parent).textContent = url;
            i += url.length;
            continue;
          }
          buf += url;
          i += url.length;
          continue;
        }
      }
      buf += c;
      i++;
    }
    flush();
  }

  /* Plain text shown as written (whitespace and line breaks kept, long lines wrapped). */
  function plainText(text) {
    return el('div', { className: 'plain-text', text: text });
  }

  /* ------------------------------------------------------------------------------------------
   * Code points: span offsets count Unicode code points, the DOM counts UTF-16 units.
   * ---------------------------------------------------------------------------------------- */

  /* Code point index of UTF-16 offset u in s (u inside a surrogate pair rounds down). */
  function cpFromUnits(s, u) {
    var cp = 0;
    for (var k = 0; k < u && k < s.length; k++) {
      var code = s.charCodeAt(k);
      if (code >= 0xd800 && code <= 0xdbff && k + 1 < s.length) {
        var low = s.charCodeAt(k + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          if (k + 1 >= u) break; /* u falls inside this pair */
          k++;
        }
      }
      cp++;
    }
    return cp;
  }

  /* ------------------------------------------------------------------------------------------
   * State
   * ---------------------------------------------------------------------------------------- */

  var S = {
    csrf: null,
    mode: null,
    annotator: '',
    dataset: '',
    settings: null,
    progress: null,
    record: null, /* the record shown */
    qs: [], /* widgets of the record shown, in question order */
    busy: false, /* a respond or next request is in flight */
    offline: false,
    pending: 0,
    localSubmitted: 0,
    statePoll: 0,
    nextPoll: 0,
    leaseTimer: 0,
    view: 'loading',
    loadSeq: 0,
    dragItem: null,
    work: 'annotate', /* what the page does: 'annotate' or 'review' (WEB.md, "Review") */
    canReview: false, /* the session's role is offered review ("review" of /api/session) */
    skipped: null /* review: ids skipped for now, shown again only when nothing else waits */
  };

  /* ------------------------------------------------------------------------------------------
   * HTTP
   * ---------------------------------------------------------------------------------------- */

  async function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', cache: 'no-store',
                 headers: { Accept: 'application/json' } };
    if (method === 'POST') {
      opts.headers['Content-Type'] = 'application/json';
      if (path !== '/api/login' && S.csrf) opts.headers['X-CSRF-Token'] = S.csrf;
      opts.body = JSON.stringify(body || {});
    }
    var res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { ok: false, status: 0, network: true,
               data: { error: 'ENETWORK', message: 'This page cannot reach the juror web server.' } };
    }
    var data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!isObject(data)) data = {};
    return { ok: res.ok, status: res.status, network: false, data: data };
  }

  /* api() plus what every call does the same way: 401 shows the login, a stale CSRF token is
   * fetched again once, 503 and network errors show the reconnecting banner. */
  async function call(method, path, body, retried) {
    var r = await api(method, path, body);
    if (r.status === 401) {
      r.handled = true;
      showLogin('Your session has ended. Please sign in again.');
      return r;
    }
    if (r.status === 403 && r.data.error === 'ECSRF' && !retried) {
      var s = await api('GET', '/api/session');
      if (s.ok && typeof s.data.csrf === 'string') {
        S.csrf = s.data.csrf;
        return call(method, path, body, true);
      }
      if (s.status === 401) {
        r.handled = true;
        showLogin('Your session has ended. Please sign in again.');
        return r;
      }
    }
    if (r.status === 503 || r.network) setOffline(true, r.network);
    return r;
  }

  function message(r, fallback) {
    return typeof r.data.message === 'string' && r.data.message !== '' ? r.data.message : fallback;
  }

  /* ------------------------------------------------------------------------------------------
   * Views
   * ---------------------------------------------------------------------------------------- */

  function setView(view) {
    S.view = view;
    show($('loading'), view === 'loading');
    show($('login'), view === 'login');
    show($('app'), view === 'app');
    show($('topbar'), view === 'app');
    if (view !== 'app') show($('reconnecting'), false);
  }

  function stopTimers() {
    clearInterval(S.statePoll);
    clearTimeout(S.nextPoll);
    clearInterval(S.leaseTimer);
    S.statePoll = 0;
    S.nextPoll = 0;
    S.leaseTimer = 0;
  }

  function showLogin(error, prefill) {
    stopTimers();
    disposeRecord();
    S.csrf = null;
    S.record = null;
    S.qs = [];
    S.busy = false;
    S.progress = null; /* the next sign-in may be someone else's */
    S.localSubmitted = 0;
    S.pending = 0;
    S.offline = false;
    S.loadSeq++;
    S.work = 'annotate';
    S.canReview = false;
    S.skipped = null;
    renderWork();
    clear($('questions'));
    clear($('fields'));
    clear($('responses-table'));
    setView('login');
    var err = $('login-error');
    err.textContent = error || '';
    var input = $('login-token');
    input.value = prefill || '';
    $('login-submit').disabled = false;
    input.focus();
  }

  async function login(token) {
    var btn = $('login-submit');
    var err = $('login-error');
    btn.disabled = true;
    err.textContent = '';
    var r = await api('POST', '/api/login', { token: token });
    btn.disabled = false;
    if (r.ok) {
      S.csrf = typeof r.data.csrf === 'string' ? r.data.csrf : null;
      return loadSession();
    }
    if (r.status === 401) showLogin('That token is not valid.');
    else if (r.status === 403) showLogin(message(r, 'The coordinator refused this sign-in.'));
    else if (r.status === 429) showLogin(message(r, 'Too many failed sign-ins. Wait a minute, then try again.'), token);
    else if (r.status === 503) showLogin('The coordinator cannot be reached right now. Try again in a moment.', token);
    else if (r.network) showLogin('This page cannot reach the juror web server.', token);
    else showLogin(message(r, 'Sign-in failed (HTTP ' + r.status + ').'), token);
    return false;
  }

  async function loadSession() {
    var r = await api('GET', '/api/session');
    if (r.ok) {
      enterApp(r.data);
      return true;
    }
    if (r.status === 401) {
      showLogin('');
      return false;
    }
    /* the server is down or in trouble: keep trying */
    setView('loading');
    $('loading').firstElementChild.textContent = r.network
      ? 'Cannot reach the juror web server. Trying again…'
      : message(r, 'The session cannot be loaded (HTTP ' + r.status + '). Trying again…');
    setTimeout(loadSession, 3000);
    return false;
  }

  function enterApp(sess) {
    S.csrf = typeof sess.csrf === 'string' ? sess.csrf : S.csrf;
    S.mode = sess.mode || null;
    S.annotator = typeof sess.annotator === 'string' ? sess.annotator : '';
    S.dataset = typeof sess.dataset === 'string' ? sess.dataset : '';
    S.settings = isObject(sess.settings) ? sess.settings : {};
    $('annotator').textContent = S.annotator;
    $('dataset').textContent = S.dataset;
    document.title = (S.dataset ? S.dataset + ' · ' : '') + 'jury';
    renderGuidelines();
    S.work = 'annotate';
    S.skipped = new Set();
    S.canReview = sess.review === true;
    show($('mode-switch'), S.canReview);
    renderWork();
    setView('app');
    setProgress(sess.progress);
    applyState(sess);
    stopTimers();
    S.statePoll = setInterval(pollState, 2000);
    S.leaseTimer = setInterval(updateLease, 1000);
    loadNext(true);
  }

  function renderGuidelines() {
    var g = S.settings.guidelines;
    var details = $('guidelines');
    var body = $('guidelines-body');
    clear(body);
    if (typeof g !== 'string' || g.trim() === '') {
      show(details, false);
      return;
    }
    renderMarkdown(g, body);
    show(details, true);
    /* open the first time this browser sees the dataset */
    var key = 'jury.guidelines.seen.' + S.dataset;
    var seen = false;
    try {
      seen = localStorage.getItem(key) === '1';
      localStorage.setItem(key, '1');
    } catch (e) {
      seen = false;
    }
    details.open = !seen;
  }

  function setProgress(p) {
    if (isObject(p)) S.progress = p;
    p = S.progress;
    var box = $('progress');
    var fill = $('progress-fill');
    var text;
    if (isObject(p) && typeof p.records === 'number') {
      var submitted = Number(p.submitted) || 0;
      var completed = Number(p.completed) || 0;
      var records = Number(p.records) || 0;
      text = 'You: ' + submitted + ' submitted · Dataset: ' + completed + ' of ' + records + ' complete';
      box.setAttribute('aria-valuemax', String(Math.max(records, 1)));
      box.setAttribute('aria-valuenow', String(Math.min(completed, Math.max(records, 1))));
      fill.style.width = (records > 0 ? Math.min(100, (100 * completed) / records) : 0).toFixed(2) + '%';
      box.classList.remove('progress-unknown');
    } else {
      text = 'You: ' + S.localSubmitted + ' submitted here';
      box.setAttribute('aria-valuemax', '100');
      box.removeAttribute('aria-valuenow');
      fill.style.width = '0%';
      box.classList.add('progress-unknown');
    }
    $('progress-text').textContent = text;
    box.setAttribute('aria-valuetext', text);
  }

  /* connected / pending / progress, from /api/session or /api/state */
  function applyState(d) {
    if (!isObject(d)) return;
    if (typeof d.pending === 'number') S.pending = d.pending;
    if (d.progress) setProgress(d.progress);
    if (typeof d.review === 'boolean' && d.review !== S.canReview) setCanReview(d.review);
    if (typeof d.connected === 'boolean') setOffline(!d.connected, false);
    else renderPending();
  }

  function setOffline(on, network) {
    S.offline = on;
    var banner = $('reconnecting');
    if (S.view !== 'app') {
      show(banner, false);
      return;
    }
    $('reconnecting-text').textContent = network
      ? 'Cannot reach the juror web server. Retrying…'
      : 'Reconnecting to the coordinator…';
    show(banner, on);
    renderPending();
  }

  function renderPending() {
    var t = $('pending-text');
    if (S.pending > 0) {
      t.textContent = S.pending === 1
        ? '1 answer is saved and will be sent when the coordinator is back.'
        : S.pending + ' answers are saved and will be sent when the coordinator is back.';
    } else {
      t.textContent = S.offline ? 'Answers you submit now are kept and sent when it is back.' : '';
    }
  }

  var polling = false;
  async function pollState() {
    if (polling || S.view !== 'app') return;
    polling = true;
    try {
      var r = await api('GET', '/api/state');
      if (S.view !== 'app') return;
      if (r.status === 401) {
        showLogin('Your session has ended. Please sign in again.');
        return;
      }
      if (r.ok) {
        var wasOffline = S.offline;
        applyState(r.data);
        /* back online while waiting for a record: try at once */
        if (wasOffline && !S.offline && !S.record && !S.busy) loadWork(true);
      } else if (r.network || r.status === 503) {
        setOffline(true, r.network);
      }
    } finally {
      polling = false;
    }
  }

  function setStatus(text, kind) {
    var st = $('status');
    st.textContent = text || '';
    st.className = 'status' + (kind ? ' status-' + kind : '');
  }

  function setFormError(text) {
    var fe = $('form-error');
    fe.textContent = text || '';
    show(fe, !!text);
  }

  function setBusy(on) {
    S.busy = on;
    ['submit', 'save-draft', 'discard', 'accept', 'reject', 'review-skip'].forEach(function (id) {
      $(id).disabled = on;
    });
    $('answer').setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /* ------------------------------------------------------------------------------------------
   * Records
   * ---------------------------------------------------------------------------------------- */

  function showPane(which) {
    show($('workspace'), which === 'record');
    show($('done'), which === 'done');
    show($('review-done'), which === 'review-done');
    show($('waiting'), which === 'waiting');
  }

  /* POST /api/next and show what comes. focus: move focus to the first question. */
  async function loadNext(focus) {
    clearTimeout(S.nextPoll);
    S.nextPoll = 0;
    var seq = ++S.loadSeq;
    setBusy(true);
    var r = await call('POST', '/api/next', {});
    if (seq !== S.loadSeq || S.view !== 'app' || S.work !== 'annotate') return;
    setBusy(false);
    if (r.handled) return;
    if (r.ok) {
      if (r.data.progress) setProgress(r.data.progress);
      var rec = r.data.record;
      if (isObject(rec) && rec.id !== undefined) {
        showRecord(rec, focus);
      } else {
        disposeRecord();
        S.record = null;
        S.qs = [];
        showPane('done');
        S.nextPoll = setTimeout(function () {
          loadNext(true);
        }, 5000);
      }
      return;
    }
    disposeRecord();
    S.record = null;
    S.qs = [];
    $('waiting-text').textContent = r.network
      ? 'This page cannot reach the juror web server. Trying again…'
      : r.status === 503
        ? 'The coordinator cannot be reached right now. Trying again…'
        : message(r, 'The next record cannot be loaded (HTTP ' + r.status + ').') + ' Trying again…';
    showPane('waiting');
    S.nextPoll = setTimeout(function () {
      loadNext(true);
    }, 5000);
  }

  function leaseMillis(v) {
    if (typeof v === 'number' && isFinite(v)) return v;
    if (typeof v === 'string') {
      if (/^\d+$/.test(v)) return Number(v);
      var t = Date.parse(v);
      if (!isNaN(t)) return t;
    }
    return null;
  }

  function updateLease() {
    var p = $('lease');
    var until = S.record ? S.record.leaseUntil : null;
    if (until === null || until === undefined) {
      p.textContent = '';
      return;
    }
    var left = until - Date.now();
    var at = new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    var review = !!S.record.review;
    if (left <= 0) {
      p.textContent = review
        ? 'Your hold on this record has run out; another reviewer may take it.'
        : 'Your hold on this record has run out; it may go to someone else.';
      p.classList.add('lease-warn');
    } else if (left < 120000) {
      var secs = Math.ceil(left / 1000);
      p.textContent = 'Held for you for ' + Math.floor(secs / 60) + ':' + String(secs % 60).padStart(2, '0') +
        ' more.' + (review ? '' : ' Save a draft to keep it longer.');
      p.classList.add('lease-warn');
    } else {
      p.textContent = (review ? 'Held for your review until ' : 'Held for you until ') + at;
      p.classList.remove('lease-warn');
    }
  }

  function metadataTitle(name) {
    var list = Array.isArray(S.settings.metadata) ? S.settings.metadata : [];
    for (var k = 0; k < list.length; k++)
      if (isObject(list[k]) && list[k].name === name && typeof list[k].title === 'string') return list[k].title;
    return name;
  }

  /* Shows rec: to answer, or (review not null: what showReviewRecord makes) to review. */
  function showRecord(rec, focus, review) {
    disposeRecord();
    S.record = {
      id: String(rec.id),
      raw: rec,
      fields: isObject(rec.fields) ? rec.fields : {},
      suggestions: isObject(rec.suggestions) ? rec.suggestions : {},
      /* the values the form starts from: a saved draft, or under review the chosen column's */
      draft: review ? review.source.values : isObject(rec.draft) ? rec.draft : null,
      leaseUntil: leaseMillis(rec.lease_expires),
      review: review || null
    };
    setFormError('');
    $('record-id').textContent = S.record.id;
    updateLease();

    /* metadata visible to annotators */
    var md = $('metadata');
    clear(md);
    var meta = isObject(rec.metadata) ? rec.metadata : {};
    var names = Object.keys(meta);
    names.forEach(function (name) {
      var v = meta[name];
      md.appendChild(el('div', { className: 'meta-item' }, [
        el('dt', { text: metadataTitle(name) }),
        el('dd', { text: v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v) })
      ]));
    });
    show(md, names.length > 0);

    /* fields */
    var fbox = $('fields');
    clear(fbox);
    var fields = Array.isArray(S.settings.fields) ? S.settings.fields : [];
    fields.forEach(function (f) {
      if (isObject(f)) fbox.appendChild(renderField(f, own(S.record.fields, f.name)));
    });

    renderReview();
    buildQuestions();
    showPane('record');
    S.qs.forEach(function (w) {
      if (w.afterMount) w.afterMount();
    });
    if (focus) focusFirstQuestion();
  }

  function settingsQuestions() {
    return (Array.isArray(S.settings.questions) ? S.settings.questions : []).filter(function (q) {
      return isObject(q) && typeof q.name === 'string';
    });
  }

  /* The form: one widget per question, prefilled from S.record (draft, else suggestion). */
  function buildQuestions() {
    var qbox = $('questions');
    clear(qbox);
    S.qs = [];
    settingsQuestions().forEach(function (q) {
      var w = buildQuestion(q);
      S.qs.push(w);
      qbox.appendChild(w.el);
      w.refresh();
    });
  }

  /* A new record starts at the top of the page; focus goes to the first question's control. */
  function focusFirstQuestion() {
    $('answer').scrollTop = 0;
    window.scrollTo(0, 0);
    if (!S.qs.length) return;
    var w = S.qs[0];
    var target = w.focusTarget ? w.focusTarget() : null;
    (target || w.el).focus({ preventScroll: true });
  }

  /* ------------------------------------------------------------------------------------------
   * Fields
   * ---------------------------------------------------------------------------------------- */

  function renderField(f, value) {
    var name = String(f.name);
    var title = typeof f.title === 'string' && f.title ? f.title : name;
    var box = el('section', { className: 'field card', 'data-field': name, 'data-type': f.type || 'text',
                              'aria-labelledby': 'f-' + safeId(name) + '-title' });
    box.appendChild(el('h3', { className: 'field-title', id: 'f-' + safeId(name) + '-title', text: title }));
    if (value === null || value === undefined || value === '') {
      box.appendChild(el('p', { className: 'muted empty-field', text: '(empty)' }));
      return box;
    }
    if (f.type === 'chat') {
      box.appendChild(renderChat(value, !!f.use_markdown));
      return box;
    }
    var text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    box.appendChild(f.use_markdown ? renderMarkdown(text, el('div', { className: 'field-body' }))
                                   : el('div', { className: 'field-body' }, plainText(text)));
    return box;
  }

  var KNOWN_ROLES = { user: true, assistant: true, system: true, tool: true, developer: true };

  function renderChat(turns, markdown) {
    var list = el('ol', { className: 'chat' });
    if (!Array.isArray(turns)) turns = [turns];
    turns.forEach(function (t) {
      var role = isObject(t) && t.role !== undefined ? String(t.role) : '';
      var content = isObject(t) ? t.content : t;
      if (content === null || content === undefined) content = '';
      if (typeof content !== 'string') content = JSON.stringify(content, null, 2);
      var lower = role.toLowerCase();
      var cls = 'turn' + (KNOWN_ROLES[lower] ? ' turn-' + lower : '');
      var body = el('div', { className: 'turn-content' });
      if (markdown) renderMarkdown(content, body);
      else body.appendChild(plainText(content));
      list.appendChild(el('li', { className: cls }, [
        el('div', { className: 'turn-role', text: role || '(no role)' }),
        body
      ]));
    });
    return list;
  }

  /* ------------------------------------------------------------------------------------------
   * Questions
   * ---------------------------------------------------------------------------------------- */

  /* The suggestion for q: {value, agent, score} or null. A suggestion may be a plain value or an
   * object with "value". */
  function suggestionFor(q) {
    var s = own(S.record.suggestions, q.name);
    if (s === null || s === undefined) return null;
    if (isObject(s) && Object.prototype.hasOwnProperty.call(s, 'value')) {
      if (s.value === null || s.value === undefined) return null;
      return { value: s.value, agent: s.agent, score: s.score };
    }
    return { value: s };
  }

  /* The prefill for q: the draft's value, else the suggestion's, else undefined. */
  function prefillFor(q) {
    var d = S.record.draft;
    var dv = own(d, q.name);
    if (dv !== null && dv !== undefined) return { value: dv, from: 'draft' };
    /* under review the form holds exactly the column chosen (#review-source says which) */
    if (S.record.review) return null;
    var s = suggestionFor(q);
    if (s) return { value: s.value, from: 'suggestion' };
    return null;
  }

  function buildQuestion(q) {
    var id = 'q-' + safeId(q.name);
    var title = typeof q.title === 'string' && q.title ? q.title : q.name;
    var required = q.required !== false;
    var box = el('div', { className: 'question card', 'data-question': q.name, 'data-type': q.type,
                          id: id, tabindex: '-1' });
    var titleId = id + '-title';
    var descId = id + '-desc';
    var heading = el('h3', { className: 'q-title', id: titleId });
    var labelTarget = q.type === 'text' ? el('label', { for: id + '-input' }) : el('span');
    append(labelTarget, title);
    heading.appendChild(labelTarget);
    if (required) {
      heading.appendChild(el('span', { className: 'required-mark', 'aria-hidden': 'true', text: '*' }));
      heading.appendChild(el('span', { className: 'visually-hidden', text: ' (required)' }));
    }
    box.appendChild(heading);
    var hasDesc = typeof q.description === 'string' && q.description.trim() !== '';
    if (hasDesc) {
      box.appendChild(renderMarkdown(q.description, el('div', { className: 'q-desc', id: descId })));
    }
    var sug = suggestionFor(q);
    if (S.record.review) {
      /* what the form holds is said once, above the questions */
    } else if (sug) {
      var bits = ['Suggestion'];
      if (typeof sug.agent === 'string' && sug.agent) bits.push('by ' + sug.agent);
      if (typeof sug.score === 'number') bits.push('(score ' + Math.round(sug.score * 100) / 100 + ')');
      box.appendChild(el('p', { className: 'q-suggested muted', text: bits.join(' ') + ' prefilled' +
        (own(S.record.draft, q.name) != null ? '; your draft is shown' : '') + '.' }));
    } else if (own(S.record.draft, q.name) != null) {
      box.appendChild(el('p', { className: 'q-suggested muted', text: 'Your saved draft is shown.' }));
    }
    var errEl = el('p', { className: 'question-error', role: 'alert', id: id + '-error', hidden: true });
    var ctx = {
      q: q, id: id, titleId: titleId, descId: hasDesc ? descId : null, box: box, required: required,
      title: title, errEl: errEl
    };
    var builders = {
      text: buildText, rating: buildRating, label_selection: buildLabels,
      multi_label_selection: buildLabels, ranking: buildRanking, span: buildSpan
    };
    var w = (builders[q.type] || buildUnknown)(ctx);
    box.appendChild(errEl);
    w.el = box;
    w.q = q;
    w.name = q.name;
    w.type = q.type;
    w.required = required;
    w.title = title;
    w.setError = function (msg) {
      errEl.textContent = msg || '';
      errEl.hidden = !msg;
      box.classList.toggle('has-error', !!msg);
    };
    var refresh = w.refresh || function () {};
    w.refresh = function () {
      refresh();
      box.classList.toggle('is-answered', w.answered());
    };
    ctx.changed = function () {
      w.setError('');
      w.refresh();
    };
    return w;
  }

  function describedBy(ctx) {
    return [ctx.descId, ctx.id + '-error'].filter(Boolean).join(' ');
  }

  function buildUnknown(ctx) {
    ctx.box.appendChild(el('p', { className: 'muted', text: 'This page cannot show a "' + ctx.q.type + '" question.' }));
    return {
      answered: function () { return false; },
      value: function () { return undefined; },
      draftValue: function () { return undefined; }
    };
  }

  /* --- text ------------------------------------------------------------------------------- */

  var TEXT_MAX_BYTES = 65536;

  function buildText(ctx) {
    var q = ctx.q;
    var sug = suggestionFor(q);
    var pre = prefillFor(q);
    var ta = el('textarea', { id: ctx.id + '-input', className: 'q-text', rows: '5',
                              'aria-describedby': describedBy(ctx), spellcheck: 'true' });
    if (ctx.required) ta.setAttribute('aria-required', 'true');
    ta.value = pre ? toText(pre.value) : '';
    ctx.box.appendChild(ta);
    var tools = el('div', { className: 'q-tools' });
    var preview = null;
    if (sug) {
      var reset = el('button', { type: 'button', className: 'btn btn-small', 'data-action': 'reset',
                                 text: 'Reset to suggestion' });
      reset.addEventListener('click', function () {
        ta.value = toText(sug.value);
        grow();
        ctx.changed();
        updatePreview();
        announce(ctx.title + ': reset to the suggestion');
        ta.focus();
      });
      tools.appendChild(reset);
    }
    if (q.use_markdown) {
      var toggle = el('button', { type: 'button', className: 'btn btn-small', 'data-action': 'preview',
                                  'aria-pressed': 'false', 'aria-controls': ctx.id + '-preview', text: 'Preview' });
      preview = el('div', { className: 'q-preview md', id: ctx.id + '-preview', hidden: true,
                            'aria-label': ctx.title + ' preview' });
      toggle.addEventListener('click', function () {
        var on = toggle.getAttribute('aria-pressed') !== 'true';
        toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
        preview.hidden = !on;
        updatePreview();
      });
      tools.appendChild(toggle);
      tools.appendChild(el('span', { className: 'muted small', text: 'Markdown' }));
    }
    if (tools.firstChild) ctx.box.appendChild(tools);
    if (preview) ctx.box.appendChild(preview);

    function updatePreview() {
      if (!preview || preview.hidden) return;
      clear(preview);
      if (ta.value.trim() === '') preview.appendChild(el('p', { className: 'muted', text: 'Nothing to preview.' }));
      else renderMarkdown(ta.value, preview);
    }
    function grow() {
      ta.style.height = 'auto';
      ta.style.height = Math.min(Math.max(ta.scrollHeight + 2, 96), Math.max(240, window.innerHeight * 0.6)) + 'px';
    }
    ta.addEventListener('input', function () {
      grow();
      ctx.changed();
      updatePreview();
    });
    return {
      answered: function () { return ta.value.trim() !== ''; },
      value: function () { return ta.value; },
      draftValue: function () { return ta.value.trim() !== '' ? ta.value : undefined; },
      validate: function () {
        if (ta.value.trim() === '') return null;
        var bytes = new TextEncoder().encode(ta.value).length;
        return bytes > TEXT_MAX_BYTES
          ? 'This answer is ' + bytes + ' bytes long; at most ' + TEXT_MAX_BYTES + ' are allowed.'
          : null;
      },
      focusTarget: function () { return ta; },
      afterMount: grow
    };
  }

  function toText(v) {
    if (typeof v === 'string') return v;
    if (v === null || v === undefined) return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }

  /* --- buttons shared by rating and labels -------------------------------------------------- */

  function choiceGroup(ctx, extraClass) {
    var g = el('div', { className: 'choices ' + (extraClass || ''), role: 'group',
                        'aria-labelledby': ctx.titleId, 'aria-describedby': describedBy(ctx) });
    ctx.box.appendChild(g);
    return g;
  }

  function setPressed(btn, on) {
    btn.setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  /* --- rating ----------------------------------------------------------------------------- */

  function buildRating(ctx) {
    var q = ctx.q;
    var values = (Array.isArray(q.values) ? q.values : []).map(Number).filter(function (v) {
      return isFinite(v);
    });
    var sug = suggestionFor(q);
    var pre = prefillFor(q);
    var selected = null;
    if (pre && values.indexOf(Number(pre.value)) >= 0) selected = Number(pre.value);
    var g = choiceGroup(ctx, 'rating');
    var buttons = values.map(function (v) {
      var b = el('button', { type: 'button', className: 'choice', 'data-value': String(v), 'aria-pressed': 'false' });
      b.appendChild(document.createTextNode(String(v)));
      if (sug && Number(sug.value) === v) {
        b.classList.add('is-suggested');
        b.appendChild(el('span', { className: 'visually-hidden', text: ' (suggested)' }));
      }
      b.addEventListener('click', function () {
        selected = selected === v ? null : v;
        ctx.changed();
      });
      g.appendChild(b);
      return b;
    });
    return {
      refresh: function () {
        buttons.forEach(function (b, k) {
          setPressed(b, values[k] === selected);
        });
      },
      answered: function () { return selected !== null; },
      value: function () { return selected; },
      draftValue: function () { return selected === null ? undefined : selected; },
      focusTarget: function () {
        var k = values.indexOf(selected);
        return buttons[k >= 0 ? k : 0] || null;
      },
      /* number key d: the value d */
      key: function (d) {
        var v = Number(d);
        if (values.indexOf(v) < 0) return false;
        selected = v;
        ctx.changed();
        announce(ctx.title + ': ' + v);
        return true;
      }
    };
  }

  /* --- label_selection and multi_label_selection -------------------------------------------- */

  function buildLabels(ctx) {
    var q = ctx.q;
    var multi = q.type === 'multi_label_selection';
    var opts = options(q.labels);
    var known = new Set(opts.map(function (o) { return o.value; }));
    var sug = suggestionFor(q);
    var sugSet = new Set();
    if (sug) (Array.isArray(sug.value) ? sug.value : [sug.value]).forEach(function (v) { sugSet.add(String(v)); });
    /* labels_order "suggestion": the suggested labels first */
    if (multi && q.labels_order === 'suggestion' && sug && Array.isArray(sug.value)) {
      var first = [];
      sug.value.forEach(function (v) {
        var o = opts.find(function (x) { return x.value === String(v); });
        if (o && first.indexOf(o) < 0) first.push(o);
      });
      opts = first.concat(opts.filter(function (o) { return first.indexOf(o) < 0; }));
    }
    var pre = prefillFor(q);
    var selected = new Set();
    if (pre) {
      (Array.isArray(pre.value) ? pre.value : [pre.value]).forEach(function (v) {
        if (known.has(String(v)) && (multi || selected.size === 0)) selected.add(String(v));
      });
    }
    var g = choiceGroup(ctx, multi ? 'labels multi' : 'labels single');
    var visible = typeof q.visible_labels === 'number' && q.visible_labels > 0 && q.visible_labels < opts.length
      ? q.visible_labels : opts.length;
    var expanded = visible >= opts.length;
    var buttons = opts.map(function (o, k) {
      var b = el('button', { type: 'button', className: 'chip', 'data-label': o.value, 'aria-pressed': 'false' });
      if (k < 10) b.appendChild(el('span', { className: 'chip-key', 'aria-hidden': 'true', text: String((k + 1) % 10) }));
      b.appendChild(el('span', { className: 'chip-text', text: o.title }));
      if (sugSet.has(o.value)) {
        b.classList.add('is-suggested');
        b.appendChild(el('span', { className: 'visually-hidden', text: ' (suggested)' }));
      }
      b.addEventListener('click', function () {
        toggle(o.value);
      });
      g.appendChild(b);
      return b;
    });
    var more = null;
    if (!expanded) {
      more = el('button', { type: 'button', className: 'btn btn-small btn-link', 'data-action': 'more-labels',
                            'aria-expanded': 'false' });
      more.addEventListener('click', function () {
        expanded = !expanded;
        refresh();
      });
      ctx.box.appendChild(more);
    }
    function toggle(v) {
      if (multi) {
        if (selected.has(v)) selected.delete(v);
        else selected.add(v);
      } else if (selected.has(v)) {
        selected.clear();
      } else {
        selected.clear();
        selected.add(v);
      }
      ctx.changed();
    }
    function refresh() {
      var hiddenSelected = false;
      buttons.forEach(function (b, k) {
        var on = selected.has(opts[k].value);
        setPressed(b, on);
        if (k >= visible && on) hiddenSelected = true;
      });
      if (hiddenSelected) expanded = true;
      buttons.forEach(function (b, k) {
        b.hidden = !expanded && k >= visible;
      });
      if (more) {
        more.textContent = expanded ? 'Show fewer labels' : 'Show all ' + opts.length + ' labels';
        more.setAttribute('aria-expanded', expanded ? 'true' : 'false');
      }
    }
    function valueNow() {
      return opts.map(function (o) { return o.value; }).filter(function (v) { return selected.has(v); });
    }
    return {
      refresh: refresh,
      answered: function () { return selected.size > 0; },
      value: function () {
        var v = valueNow();
        return multi ? v : v[0];
      },
      draftValue: function () {
        var v = valueNow();
        if (!v.length) return undefined;
        return multi ? v : v[0];
      },
      focusTarget: function () {
        for (var k = 0; k < buttons.length; k++) if (selected.has(opts[k].value)) return buttons[k];
        return buttons[0] || null;
      },
      /* number key d: the d-th label (0 is the tenth); toggles in a multi-label question */
      key: function (d) {
        var k = d === '0' ? 9 : Number(d) - 1;
        if (k < 0 || k >= opts.length) return false;
        var v = opts[k].value;
        if (multi) toggle(v);
        else if (!selected.has(v)) toggle(v);
        if (k >= visible) {
          expanded = true;
          refresh();
        }
        announce(ctx.title + ': ' + opts[k].title + (multi ? (selected.has(v) ? ' selected' : ' cleared') : ''));
        return true;
      }
    };
  }

  /* --- ranking ---------------------------------------------------------------------------- */

  function buildRanking(ctx) {
    var q = ctx.q;
    var opts = options(q.values);
    var byValue = new Map(opts.map(function (o) { return [o.value, o]; }));
    var pre = prefillFor(q);
    var order = [];
    var touched = false;
    if (pre && Array.isArray(pre.value)) {
      /* a suggested or drafted order; ties are flattened in place */
      var flat = [];
      pre.value.forEach(function (item) {
        (Array.isArray(item) ? item : [item]).forEach(function (v) { flat.push(String(v)); });
      });
      flat.forEach(function (v) {
        if (byValue.has(v) && order.indexOf(v) < 0) order.push(v);
      });
      touched = order.length > 0;
    }
    opts.forEach(function (o) {
      if (order.indexOf(o.value) < 0) order.push(o.value);
    });

    ctx.box.appendChild(el('p', { className: 'muted small', id: ctx.id + '-hint',
      text: 'Best first. Drag the items, use their arrows, or focus one and press Alt+↑ / Alt+↓.' }));
    var list = el('ol', { className: 'ranking', 'aria-labelledby': ctx.titleId,
                          'aria-describedby': [ctx.id + '-hint', describedBy(ctx)].join(' ') });
    ctx.box.appendChild(list);
    var items = new Map();
    order.forEach(function (v) {
      var o = byValue.get(v);
      var li = el('li', { className: 'rank-item', 'data-value': v, tabindex: '0', draggable: 'true',
                          'aria-keyshortcuts': 'Alt+ArrowUp Alt+ArrowDown' });
      var up = el('button', { type: 'button', className: 'btn-icon', 'data-action': 'up',
                              'aria-label': 'Move ' + o.title + ' up', text: '↑' });
      var down = el('button', { type: 'button', className: 'btn-icon', 'data-action': 'down',
                                'aria-label': 'Move ' + o.title + ' down', text: '↓' });
      append(li, [
        el('span', { className: 'rank-handle', 'aria-hidden': 'true', text: '⠿' }),
        el('span', { className: 'rank-pos', 'aria-hidden': 'true' }),
        el('span', { className: 'rank-title', text: o.title }),
        el('span', { className: 'rank-buttons' }, [up, down])
      ]);
      up.addEventListener('click', function () {
        move(li, -1, up);
      });
      down.addEventListener('click', function () {
        move(li, 1, down);
      });
      li.addEventListener('dragstart', function (e) {
        S.dragItem = li;
        li.classList.add('dragging');
        try {
          e.dataTransfer.effectAllowed = 'move';
          e.dataTransfer.setData('text/plain', o.title);
        } catch (err) { /* some browsers refuse; the drag still works */ }
      });
      li.addEventListener('dragend', function () {
        li.classList.remove('dragging');
        if (S.dragItem === li) {
          S.dragItem = null;
          touched = true;
          ctx.changed();
        }
      });
      items.set(v, li);
      list.appendChild(li);
    });
    list.addEventListener('dragover', function (e) {
      var dragged = S.dragItem;
      if (!dragged || dragged.parentNode !== list) return;
      e.preventDefault();
      try {
        e.dataTransfer.dropEffect = 'move';
      } catch (err) { /* ignore */ }
      var over = e.target instanceof Element ? e.target.closest('li') : null;
      if (!over || over === dragged || over.parentNode !== list) return;
      var r = over.getBoundingClientRect();
      var after = e.clientY > r.top + r.height / 2;
      var ref = after ? over.nextSibling : over;
      if (ref !== dragged && dragged.nextSibling !== ref) {
        list.insertBefore(dragged, ref);
        renumber();
      }
    });
    list.addEventListener('drop', function (e) {
      if (S.dragItem && S.dragItem.parentNode === list) e.preventDefault();
    });

    function current() {
      return Array.prototype.map.call(list.children, function (li) {
        return li.getAttribute('data-value');
      });
    }
    function renumber() {
      var n = list.children.length;
      Array.prototype.forEach.call(list.children, function (li, k) {
        li.querySelector('.rank-pos').textContent = String(k + 1);
        li.setAttribute('aria-label', byValue.get(li.getAttribute('data-value')).title + ', position ' + (k + 1) +
          ' of ' + n);
        var up = li.querySelector('[data-action="up"]');
        var down = li.querySelector('[data-action="down"]');
        up.setAttribute('aria-disabled', k === 0 ? 'true' : 'false');
        down.setAttribute('aria-disabled', k === n - 1 ? 'true' : 'false');
      });
    }
    /* moves li by delta places; keeps focus on keep (the item or its button) */
    function move(li, delta, keep) {
      var kids = Array.prototype.slice.call(list.children);
      var k = kids.indexOf(li);
      var to = k + delta;
      if (k < 0 || to < 0 || to >= kids.length) return;
      if (delta < 0) list.insertBefore(li, kids[to]);
      else list.insertBefore(li, kids[to].nextSibling);
      renumber();
      touched = true;
      ctx.changed();
      if (keep) keep.focus();
      var o = byValue.get(li.getAttribute('data-value'));
      announce(o.title + ', position ' + (to + 1) + ' of ' + kids.length);
    }
    list.addEventListener('keydown', function (e) {
      if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
      var li = e.target instanceof Element ? e.target.closest('li') : null;
      if (!li || li.parentNode !== list) return;
      e.preventDefault();
      e.stopPropagation();
      move(li, e.key === 'ArrowUp' ? -1 : 1, e.target);
    });
    renumber();
    return {
      /* the order shown is always an answer */
      answered: function () { return true; },
      value: function () { return current(); },
      draftValue: function () { return touched ? current() : undefined; },
      focusTarget: function () { return list.firstElementChild; }
    };
  }

  /* --- span ------------------------------------------------------------------------------- */

  var SPAN_COLORS = 8;

  function buildSpan(ctx) {
    var q = ctx.q;
    var opts = options(q.labels);
    var labelIndex = new Map(opts.map(function (o, k) { return [o.value, k]; }));
    var raw = own(S.record.fields, q.field);
    var text = typeof raw === 'string' ? raw : '';
    var chars = Array.from(text);
    var len = chars.length;
    var overlapping = !!q.allow_overlapping;
    var spans = [];
    var nothing = false; /* "nothing to mark" pressed */
    var pending = null; /* {start, end} of the text selected in the passage, code points */

    var pre = prefillFor(q);
    if (pre && Array.isArray(pre.value)) {
      pre.value.forEach(function (s) {
        if (!isObject(s)) return;
        var st = s.start;
        var en = s.end;
        var lb = typeof s.label === 'string' ? s.label : null;
        if (!Number.isInteger(st) || !Number.isInteger(en) || st < 0 || st >= en || en > len) return;
        if (lb === null || !labelIndex.has(lb)) return;
        if (!overlapping && spans.some(function (x) { return st < x.end && x.start < en; })) return;
        spans.push({ start: st, end: en, label: lb });
      });
      nothing = spans.length === 0;
    }

    var fieldTitle = q.field;
    (Array.isArray(S.settings.fields) ? S.settings.fields : []).forEach(function (f) {
      if (isObject(f) && f.name === q.field && typeof f.title === 'string' && f.title) fieldTitle = f.title;
    });
    ctx.box.appendChild(el('p', { className: 'muted small', id: ctx.id + '-hint',
      text: 'Select text in “' + fieldTitle + '” below, then press a label.' +
        (overlapping ? '' : ' Spans may not overlap.') }));
    var g = choiceGroup(ctx, 'span-labels');
    g.setAttribute('aria-describedby', ctx.id + '-hint ' + describedBy(ctx));
    opts.forEach(function (o, k) {
      var b = el('button', { type: 'button', className: 'chip span-label lbl-' + (k % SPAN_COLORS),
                             'data-span-label': o.value });
      b.appendChild(el('span', { className: 'swatch', 'aria-hidden': 'true' }));
      b.appendChild(el('span', { className: 'chip-text', text: o.title }));
      b.addEventListener('mousedown', function (e) {
        /* keep the text selection (desktop browsers may clear it on press) */
        e.preventDefault();
      });
      b.addEventListener('click', function () {
        addSpan(o.value);
      });
      g.appendChild(b);
    });
    var selLine = el('p', { className: 'span-selection muted small', 'aria-live': 'polite' });
    ctx.box.appendChild(selLine);
    var textBox = el('div', { className: 'span-text', role: 'group',
                              'aria-label': fieldTitle + ' (select text to mark a span)' });
    ctx.box.appendChild(textBox);
    if (typeof raw !== 'string') {
      ctx.box.appendChild(el('p', { className: 'muted small', text: 'The field “' + fieldTitle + '” has no text in this record.' }));
    }
    var listTitle = el('p', { className: 'span-list-title small', id: ctx.id + '-spans' });
    var list = el('ul', { className: 'span-list', 'aria-labelledby': ctx.id + '-spans' });
    ctx.box.appendChild(listTitle);
    ctx.box.appendChild(list);
    var noneBtn = el('button', { type: 'button', className: 'btn btn-small', 'data-action': 'no-spans',
                                 'aria-pressed': 'false', text: 'Nothing to mark' });
    noneBtn.addEventListener('click', function () {
      if (spans.length) return;
      nothing = !nothing;
      ctx.changed();
    });
    ctx.box.appendChild(el('div', { className: 'q-tools' }, noneBtn));

    function titleOf(label) {
      var k = labelIndex.get(label);
      return k === undefined ? label : opts[k].title;
    }
    function excerpt(s) {
      var t = chars.slice(s.start, s.end).join('');
      return t.length > 80 ? t.slice(0, 77) + '…' : t;
    }

    /* the passage: text nodes, and <mark> for the covered parts */
    function renderText() {
      clear(textBox);
      var cuts = new Set([0, len]);
      spans.forEach(function (s) {
        cuts.add(s.start);
        cuts.add(s.end);
      });
      var points = Array.from(cuts).sort(function (a, b) { return a - b; });
      for (var k = 0; k + 1 < points.length; k++) {
        var a = points[k];
        var b = points[k + 1];
        var piece = chars.slice(a, b).join('');
        var cover = spans.filter(function (s) { return s.start <= a && s.end >= b; });
        if (!cover.length) {
          textBox.appendChild(document.createTextNode(piece));
          continue;
        }
        var m = el('mark', { className: 'span-mark lbl-' + (labelIndex.get(cover[0].label) % SPAN_COLORS) +
                                        (cover.length > 1 ? ' overlap' : '') });
        m.textContent = piece;
        var ending = cover.filter(function (s) { return s.end === b; });
        if (ending.length) {
          /* the label is drawn by CSS (::after), so it is not part of the text */
          m.setAttribute('data-end-label', ending.map(function (s) { return titleOf(s.label); }).join(', '));
        }
        textBox.appendChild(m);
      }
    }

    function renderList() {
      clear(list);
      var sorted = spans.slice().sort(function (x, y) { return x.start - y.start || x.end - y.end; });
      listTitle.textContent = sorted.length ? 'Marked spans (' + sorted.length + ')' : 'No spans marked yet.';
      sorted.forEach(function (s) {
        var rm = el('button', { type: 'button', className: 'btn-icon', 'data-action': 'remove-span',
                                'aria-label': 'Remove ' + titleOf(s.label) + ' span “' + excerpt(s) + '”', text: '×' });
        rm.addEventListener('click', function () {
          var k = spans.indexOf(s);
          if (k >= 0) spans.splice(k, 1);
          ctx.changed();
          announce('Removed the ' + titleOf(s.label) + ' span');
          var next = list.querySelector('[data-action="remove-span"]');
          (next || textBox.closest('.question')).focus();
        });
        list.appendChild(el('li', { className: 'span-item', 'data-start': String(s.start), 'data-end': String(s.end),
                                    'data-label': s.label }, [
          el('span', { className: 'span-tag lbl-' + (labelIndex.get(s.label) % SPAN_COLORS), text: titleOf(s.label) }),
          el('span', { className: 'span-excerpt', text: '“' + excerpt(s) + '”' }),
          el('span', { className: 'muted small span-offsets', text: s.start + '–' + s.end }),
          rm
        ]));
      });
    }

    /* The selection inside the passage, in code points, trimmed of white space; or null. */
    function readSelection() {
      var sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
      var r = sel.getRangeAt(0);
      if (!r.intersectsNode(textBox)) return null;
      function units(node, offset) {
        var m = document.createRange();
        m.setStart(textBox, 0);
        m.setEnd(node, offset);
        return m.toString().length;
      }
      var total = text.length;
      var a = textBox.contains(r.startContainer) ? units(r.startContainer, r.startOffset) : 0;
      var b = textBox.contains(r.endContainer) ? units(r.endContainer, r.endOffset) : total;
      if (r.compareBoundaryPoints(Range.START_TO_START, rangeOf(textBox)) < 0) a = 0;
      if (r.compareBoundaryPoints(Range.END_TO_END, rangeOf(textBox)) > 0) b = total;
      var start = cpFromUnits(text, a);
      var end = cpFromUnits(text, b);
      /* an end inside a surrogate pair takes the whole character */
      if (b > 0 && b < total && isHighSurrogate(text.charCodeAt(b - 1))) end++;
      while (start < end && /\s/u.test(chars[start])) start++;
      while (end > start && /\s/u.test(chars[end - 1])) end--;
      return start < end ? { start: start, end: end } : null;
    }

    function onSelection() {
      var sel = window.getSelection();
      if (!sel || sel.rangeCount === 0) return;
      var r = sel.getRangeAt(0);
      if (!r.intersectsNode(textBox)) return;
      var got = readSelection();
      if (got) {
        pending = got;
        var t = chars.slice(got.start, got.end).join('');
        selLine.textContent = 'Selected: “' + (t.length > 80 ? t.slice(0, 77) + '…' : t) + '” — now press a label.';
      } else if (sel.isCollapsed && textBox.contains(sel.anchorNode)) {
        pending = null;
        selLine.textContent = '';
      }
    }
    document.addEventListener('selectionchange', onSelection);
    var offSel = function () {
      document.removeEventListener('selectionchange', onSelection);
    };

    function addSpan(label) {
      var got = readSelection() || pending;
      if (!got) {
        ctxError('Select some text in “' + fieldTitle + '” first, then press the label.');
        return;
      }
      var dup = spans.some(function (s) { return s.start === got.start && s.end === got.end && s.label === label; });
      if (dup) {
        ctxError('That text is already marked as ' + titleOf(label) + '.');
        return;
      }
      if (!overlapping) {
        var clash = spans.find(function (s) { return got.start < s.end && s.start < got.end; });
        if (clash) {
          ctxError('That overlaps the ' + titleOf(clash.label) + ' span “' + excerpt(clash) +
            '”. Spans may not overlap here: remove that one first.');
          return;
        }
      }
      spans.push({ start: got.start, end: got.end, label: label });
      nothing = false;
      pending = null;
      selLine.textContent = '';
      var sel = window.getSelection();
      if (sel) sel.removeAllRanges();
      ctx.changed();
      announce('Marked “' + excerpt({ start: got.start, end: got.end }) + '” as ' + titleOf(label));
    }
    function ctxError(msg) {
      var e = ctx.box.querySelector('.question-error');
      e.textContent = msg;
      e.hidden = false;
    }

    return {
      refresh: function () {
        renderText();
        renderList();
        if (spans.length) nothing = false;
        setPressed(noneBtn, nothing);
        noneBtn.hidden = spans.length > 0;
      },
      /* an empty list is an answer only when "Nothing to mark" says so */
      answered: function () { return spans.length > 0 || nothing; },
      value: function () { return sortedSpans(); },
      draftValue: function () { return spans.length || nothing ? sortedSpans() : undefined; },
      focusTarget: function () { return g.querySelector('button'); },
      dispose: offSel,
      requiredMessage: 'Mark at least one span, or press “Nothing to mark”.'
    };
    function sortedSpans() {
      return spans.slice().sort(function (x, y) { return x.start - y.start || x.end - y.end; }).map(function (s) {
        return { start: s.start, end: s.end, label: s.label };
      });
    }
  }

  function isHighSurrogate(c) {
    return c >= 0xd800 && c <= 0xdbff;
  }

  function rangeOf(node) {
    var r = document.createRange();
    r.selectNodeContents(node);
    return r;
  }

  /* ------------------------------------------------------------------------------------------
   * Answering
   * ---------------------------------------------------------------------------------------- */

  function collect(draft) {
    var values = {};
    S.qs.forEach(function (w) {
      var v = draft ? w.draftValue() : w.answered() ? w.value() : undefined;
      if (v !== undefined && v !== null) values[w.name] = v;
    });
    return values;
  }

  function clearErrors() {
    setFormError('');
    S.qs.forEach(function (w) {
      w.setError('');
    });
  }

  function disposeRecord() {
    S.qs.forEach(function (w) {
      if (w.dispose) w.dispose();
    });
  }

  async function submit() {
    if (S.busy || !S.record || S.record.review || S.view !== 'app') return;
    clearErrors();
    if (!checkComplete()) return;
    await respond('submitted', collect(false));
  }

  /* Whether every required question is answered and every answer valid; otherwise flags each
   * question that is not and focuses the first. */
  function checkComplete() {
    var bad = [];
    S.qs.forEach(function (w) {
      var msg = null;
      if (w.required && !w.answered()) msg = w.requiredMessage || 'This question needs an answer.';
      else if (w.validate) msg = w.validate();
      if (msg) {
        w.setError(msg);
        bad.push(w);
      }
    });
    if (!bad.length) return true;
    setStatus(bad.length === 1 ? 'One question needs your attention.' : bad.length + ' questions need your attention.', 'error');
    var t = bad[0].focusTarget ? bad[0].focusTarget() : null;
    (t || bad[0].el).focus();
    bad[0].el.scrollIntoView({ block: 'nearest' });
    return false;
  }

  /* A 422 from the coordinator: the message goes next to the question it names, else above the
   * form. */
  function showInvalid(r) {
    var d = r.data;
    var w = typeof d.question === 'string' ? S.qs.find(function (x) { return x.name === d.question; }) : null;
    var msg = message(r, 'This answer is not valid.');
    if (w) {
      w.setError(msg);
      var t = w.focusTarget ? w.focusTarget() : null;
      (t || w.el).focus();
    } else {
      setFormError(msg);
      $('form-error').scrollIntoView({ block: 'nearest' });
    }
  }

  async function discard() {
    if (S.busy || !S.record || S.record.review || S.view !== 'app') return;
    clearErrors();
    await respond('discarded', null);
  }

  async function saveDraft() {
    if (S.busy || !S.record || S.record.review || S.view !== 'app') return;
    clearErrors();
    var bad = null;
    S.qs.forEach(function (w) {
      var msg = w.validate ? w.validate() : null;
      if (msg) {
        w.setError(msg);
        bad = bad || w;
      }
    });
    if (bad) {
      bad.el.focus();
      return;
    }
    await respond('draft', collect(true));
  }

  async function respond(status, values) {
    var rec = S.record;
    var body = { record: rec.id, status: status };
    if (values) body.values = values;
    setBusy(true);
    setStatus(status === 'draft' ? 'Saving draft…' : status === 'submitted' ? 'Submitting…' : 'Discarding…');
    var r = await call('POST', '/api/respond', body);
    if (S.record !== rec) return; /* logged out or replaced meanwhile */
    setBusy(false);
    if (r.handled) return;
    var d = r.data;
    if (r.ok) {
      if (d.progress) setProgress(d.progress);
      if (status === 'draft') {
        var until = leaseMillis(d.lease_expires);
        if (until !== null) rec.leaseUntil = until;
        updateLease();
        setStatus('Draft saved at ' + new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + '.', 'ok');
        return;
      }
      if (status === 'submitted') S.localSubmitted++;
      if (!d.progress) setProgress(null);
      setStatus(status === 'submitted' ? 'Submitted. Here is the next record.' : 'Discarded. Here is the next record.', 'ok');
      disposeRecord();
      await loadNext(true);
      return;
    }
    if (r.status === 503 && d.kept === true) {
      if (status === 'draft') {
        setStatus('Draft saved, will be sent when the coordinator is back.', 'warn');
        return;
      }
      if (status === 'submitted') S.localSubmitted++;
      S.pending = Math.max(S.pending, 1);
      renderPending();
      setStatus((status === 'submitted' ? 'Answer' : 'Discard') + ' saved, will be sent when the coordinator is back.', 'warn');
      disposeRecord();
      await loadNext(true);
      return;
    }
    setStatus('');
    if (r.status === 422) {
      showInvalid(r);
      return;
    }
    if (r.status === 409) {
      setStatus(message(r, 'This record is no longer yours.') + ' Your answer to it was not saved; here is the next record.', 'error');
      disposeRecord();
      await loadNext(true);
      return;
    }
    var text;
    if (r.network) text = 'This page cannot reach the juror web server; nothing was sent. Try again in a moment.';
    else if (r.status === 503) text = 'The coordinator cannot be reached right now; nothing was sent. Try again in a moment.';
    else if (r.status === 413) text = message(r, 'This answer is too large.');
    else if (r.status === 429) text = message(r, 'Too many requests; wait a moment and try again.');
    else text = message(r, 'The answer could not be saved (HTTP ' + r.status + ').');
    setFormError(text);
    $('form-error').scrollIntoView({ block: 'nearest' });
  }

  async function logout() {
    stopTimers();
    var r = await api('POST', '/api/logout', {});
    disposeRecord();
    if (r.network) {
      showLogin('Signed out here, but the server could not be told (it is unreachable).');
      return;
    }
    showLogin('You are signed out.');
  }

  /* ------------------------------------------------------------------------------------------
   * Review (WEB.md, "Review"): for reviewers and admins, the records that wait for a final
   * decision, each with every annotator's response and the consolidation's answers; the form is
   * the answering form, prefilled with the consolidation's answers (or a response's, copied with
   * "Use these answers"); Accept stores those answers as the record's final ones, Reject keeps
   * the record out; both may carry a note. The page holds one record to review at a time.
   * ---------------------------------------------------------------------------------------- */

  var REVIEW_FETCH_MAX = 100; /* the most records /api/review/fetch hands over */
  var NOTE_MAX_BYTES = 1024;
  var REVIEW_WHY = {
    contested: 'Contested: the annotators never reached the agreement asked',
    rejected: 'Rejected by the consolidation'
  };

  /* What is being done now, annotating or reviewing: loads the next record of it. */
  function loadWork(focus) {
    return S.work === 'review' ? loadReview(focus) : loadNext(focus);
  }

  function renderWork() {
    var review = S.work === 'review';
    $('mode-annotate').setAttribute('aria-pressed', review ? 'false' : 'true');
    $('mode-review').setAttribute('aria-pressed', review ? 'true' : 'false');
    show($('actions'), !review);
    show($('review-panel'), review);
    document.body.classList.toggle('reviewing', review);
  }

  /* The session's role may review or not (the coordinator decides at every review request). */
  function setCanReview(on) {
    S.canReview = !!on;
    show($('mode-switch'), S.canReview);
    if (!S.canReview && S.work === 'review') setWork('annotate', 'Your role no longer includes review.');
  }

  /* Switches between annotating and reviewing. A record under review goes back to the other
   * reviewers at once; a record to answer stays leased to this session and is shown again first
   * (unsaved changes to it are lost: save a draft first). note: an error to show afterwards. */
  async function setWork(work, note) {
    if (work === S.work || S.view !== 'app' || (work === 'review' && !S.canReview)) return;
    var rec = S.record;
    S.loadSeq++;
    clearTimeout(S.nextPoll);
    S.nextPoll = 0;
    disposeRecord();
    S.record = null;
    S.qs = [];
    clear($('questions'));
    setBusy(false);
    S.work = work;
    renderWork();
    clearErrors();
    noteError('');
    setStatus(note || '', note ? 'error' : '');
    if (note) announce(note);
    else announce(work === 'review' ? 'Review mode' : 'Annotate mode');
    if (rec && rec.review) api('POST', '/api/release', { record: rec.id });
    if (work === 'review') S.skipped = new Set();
    await loadWork(true);
  }

  /* POST /api/review/fetch and show the first record not skipped. */
  async function loadReview(focus) {
    clearTimeout(S.nextPoll);
    S.nextPoll = 0;
    var seq = ++S.loadSeq;
    setBusy(true);
    /* one more than the records skipped, so that one not skipped comes if any waits */
    var n = Math.min(REVIEW_FETCH_MAX, S.skipped.size + 1);
    var r = await call('POST', '/api/review/fetch', { n: n });
    if (seq !== S.loadSeq || S.view !== 'app' || S.work !== 'review') return;
    setBusy(false);
    if (r.handled) return;
    if (r.ok) {
      var list = (Array.isArray(r.data.records) ? r.data.records : []).filter(function (x) {
        return isObject(x) && x.id !== undefined && x.id !== null;
      });
      var pick = list.find(function (x) { return !S.skipped.has(String(x.id)); }) || null;
      var again = false;
      if (!pick && list.length) {
        /* every record that waits was skipped: round again */
        S.skipped.clear();
        pick = list[0];
        again = true;
      }
      /* the others fetched were skipped: back to the other reviewers */
      list.forEach(function (x) {
        if (x !== pick) api('POST', '/api/release', { record: String(x.id) });
      });
      if (!pick) {
        disposeRecord();
        S.record = null;
        S.qs = [];
        showPane('review-done');
        S.nextPoll = setTimeout(function () {
          loadReview(true);
        }, 5000);
        return;
      }
      showReviewRecord(pick, focus);
      if (again) setStatus('You skipped every record that waits; here they are again.', 'warn');
      return;
    }
    if (r.status === 403 && r.data.error === 'EPERM') {
      S.canReview = false;
      show($('mode-switch'), false);
      setWork('annotate', message(r, 'You may not review records.'));
      return;
    }
    disposeRecord();
    S.record = null;
    S.qs = [];
    $('waiting-text').textContent = r.network
      ? 'This page cannot reach the juror web server. Trying again…'
      : r.status === 503
        ? 'The coordinator cannot be reached right now. Trying again…'
        : message(r, 'The records to review cannot be loaded (HTTP ' + r.status + ').') + ' Trying again…';
    showPane('waiting');
    S.nextPoll = setTimeout(function () {
      loadReview(true);
    }, 5000);
  }

  function cloneJson(v) {
    return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
  }

  /* A record of /api/review/fetch: its columns (the consolidation's answers, then each response),
   * the form prefilled with the consolidation's. */
  function showReviewRecord(rec, focus) {
    var cols = [];
    if (isObject(rec.unified)) {
      cols.push({ key: 'consolidation', title: 'Consolidation', who: 'the consolidation', values: rec.unified, status: null });
    }
    (Array.isArray(rec.responses) ? rec.responses : []).forEach(function (x, k) {
      if (!isObject(x)) return;
      var name = typeof x.annotator === 'string' && x.annotator ? x.annotator : '(unknown)';
      cols.push({ key: 'response-' + k, title: name, who: name, values: isObject(x.values) ? x.values : null,
                  status: typeof x.status === 'string' ? x.status : null });
    });
    var review = {
      why: (Array.isArray(rec.why) ? rec.why : []).map(String),
      reason: typeof rec.reason === 'string' && rec.reason !== '' ? rec.reason : null,
      cols: cols,
      source: cols.length && cols[0].key === 'consolidation'
        ? { key: 'consolidation', who: 'the consolidation', values: cloneJson(rec.unified) }
        : { key: null, who: null, values: {} }
    };
    $('review-note').value = '';
    noteError('');
    showRecord(rec, focus, review);
  }

  /* The "why it waits" box, the responses table and the line saying what the form holds. */
  function renderReview() {
    var rv = S.record ? S.record.review : null;
    show($('review-why'), !!rv);
    show($('review-responses'), !!rv);
    show($('review-source'), !!rv);
    $('record-kind').textContent = rv ? 'Record to review' : 'Record';
    if (!rv) return;
    var words = $('review-why-words');
    clear(words);
    rv.why.forEach(function (w) {
      words.appendChild(el('span', { className: 'why-tag', 'data-why': w, text: own(REVIEW_WHY, w) || w }));
    });
    var reason = $('review-reason');
    reason.textContent = rv.reason ? 'Reason: ' + rv.reason : '';
    show(reason, !!rv.reason);
    renderResponses();
    renderSource();
  }

  /* Canonical text of a value, for "the answers differ": sets sorted. */
  function canonical(q, v) {
    if (Array.isArray(v) && q.type === 'multi_label_selection') v = v.map(String).sort();
    if (Array.isArray(v) && q.type === 'span') {
      v = v.map(function (x) { return isObject(x) ? [x.start, x.end, x.label] : x; }).sort(function (a, b) {
        return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
      });
    }
    return JSON.stringify(v);
  }

  function titlesOf(spec) {
    var m = new Map();
    options(spec).forEach(function (o) { m.set(o.value, o.title); });
    return m;
  }

  function noAnswer() {
    return el('span', { className: 'muted' }, [
      el('span', { 'aria-hidden': 'true', text: '—' }),
      el('span', { className: 'visually-hidden', text: 'no answer' })
    ]);
  }

  /* One answer as the table shows it: record text only ever as text. */
  function answerNode(q, v) {
    if (v === undefined || v === null) return noAnswer();
    var titles;
    switch (q.type) {
      case 'text':
        return el('div', { className: 'cell-text plain-text', text: toText(v) });
      case 'rating':
        return el('span', { className: 'cell-rating', text: String(v) });
      case 'label_selection':
      case 'multi_label_selection': {
        titles = titlesOf(q.labels);
        var list = Array.isArray(v) ? v : [v];
        if (!list.length) return el('span', { className: 'muted', text: '(none)' });
        return el('span', { text: list.map(function (x) { return titles.get(String(x)) || String(x); }).join(', ') });
      }
      case 'ranking': {
        if (!Array.isArray(v)) break;
        titles = titlesOf(q.values);
        return el('ol', { className: 'cell-ranking' }, v.map(function (item) {
          var tied = Array.isArray(item) ? item : [item];
          return el('li', { text: tied.map(function (x) { return titles.get(String(x)) || String(x); }).join(' = ') });
        }));
      }
      case 'span': {
        if (!Array.isArray(v)) break;
        if (!v.length) return el('span', { className: 'muted', text: '(nothing marked)' });
        titles = titlesOf(q.labels);
        var chars = Array.from(typeof own(S.record.fields, q.field) === 'string' ? own(S.record.fields, q.field) : '');
        return el('ul', { className: 'cell-spans' }, v.map(function (x) {
          if (!isObject(x)) return el('li', { text: JSON.stringify(x) });
          var t = chars.slice(x.start, x.end).join('');
          if (t.length > 60) t = t.slice(0, 57) + '…';
          return el('li', null, [
            el('span', { className: 'cell-span-text', text: '“' + t + '”' }), ' ',
            el('span', { className: 'muted small', text: titles.get(String(x.label)) || String(x.label) })
          ]);
        }));
      }
      default:
        break;
    }
    return el('span', { text: typeof v === 'object' ? JSON.stringify(v) : String(v) });
  }

  /* Questions down the side, the consolidation's answers and each response across; a row whose
   * submitted answers differ is marked; "Use these answers" under each column. */
  function renderResponses() {
    var rv = S.record.review;
    var table = $('responses-table');
    clear(table);
    table.appendChild(el('caption', { className: 'visually-hidden',
      text: 'Answers to record ' + S.record.id + ': one row per question, one column per annotator' }));
    var head = el('tr', null, el('th', { scope: 'col', text: 'Question' }));
    rv.cols.forEach(function (c) {
      var th = el('th', { scope: 'col', 'data-col': c.key, className: c.key === 'consolidation' ? 'col-consolidation' : null },
                  el('span', { className: 'col-title', text: c.title }));
      if (c.status && c.status !== 'submitted') th.appendChild(el('span', { className: 'col-status', text: c.status }));
      head.appendChild(th);
    });
    table.appendChild(el('thead', null, head));
    var body = el('tbody');
    settingsQuestions().forEach(function (q) {
      var title = typeof q.title === 'string' && q.title ? q.title : q.name;
      var seen = new Set();
      rv.cols.forEach(function (c) {
        if (c.key === 'consolidation' || c.status !== 'submitted' || !c.values) return;
        var v = own(c.values, q.name);
        if (v !== undefined && v !== null) seen.add(canonical(q, v));
      });
      var differ = seen.size > 1;
      var th = el('th', { scope: 'row' }, el('span', { text: title }));
      if (differ) {
        th.appendChild(el('span', { className: 'differ-mark', 'aria-hidden': 'true', title: 'the answers differ', text: '≠' }));
        th.appendChild(el('span', { className: 'visually-hidden', text: ' (the answers differ)' }));
      }
      var tr = el('tr', { 'data-row': q.name, className: differ ? 'differs' : null }, th);
      rv.cols.forEach(function (c) {
        tr.appendChild(el('td', { 'data-col': c.key }, answerNode(q, c.values ? own(c.values, q.name) : undefined)));
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    var foot = el('tr', null, el('td'));
    rv.cols.forEach(function (c) {
      var empty = !c.values || Object.keys(c.values).length === 0;
      var b = el('button', { type: 'button', className: 'btn btn-small', 'data-action': 'use-answers',
                             'data-col': c.key, 'data-annotator': c.key === 'consolidation' ? null : c.who,
                             'aria-label': c.key === 'consolidation' ? 'Use the consolidation\u2019s answers' : 'Use ' + c.who + '\u2019s answers',
                             text: 'Use these answers', disabled: empty });
      b.addEventListener('click', function () {
        useAnswers(c);
      });
      foot.appendChild(el('td', { 'data-col': c.key }, b));
    });
    table.appendChild(el('tfoot', null, foot));
  }

  /* Says what the form holds and marks that column. */
  function renderSource() {
    var rv = S.record.review;
    var line = $('review-source');
    if (rv.source.key === 'consolidation') {
      line.textContent = 'The form holds the consolidation\u2019s answers. Change them, or copy a response\u2019s with “Use these answers”.';
    } else if (rv.source.key) {
      line.textContent = 'The form holds ' + rv.source.who + '\u2019s answers. Change them, or copy another column.';
    } else {
      line.textContent = 'No consolidation has decided this record yet: copy a response\u2019s answers with “Use these answers”, or answer yourself.';
    }
    Array.prototype.forEach.call($('responses-table').querySelectorAll('[data-col]'), function (cell) {
      cell.classList.toggle('is-source', cell.getAttribute('data-col') === rv.source.key);
    });
  }

  /* "Use these answers": the column's values replace what the form holds. */
  function useAnswers(c) {
    if (S.busy || !S.record || !S.record.review || !c.values) return;
    var rv = S.record.review;
    rv.source = { key: c.key, who: c.who, values: cloneJson(c.values) };
    disposeRecord();
    S.record.draft = rv.source.values;
    buildQuestions();
    S.qs.forEach(function (w) {
      if (w.afterMount) w.afterMount();
    });
    clearErrors();
    setStatus('');
    renderSource();
    announce((c.key === 'consolidation' ? 'The consolidation' : c.who) + '\u2019s answers are in the form');
    $('answer').scrollTop = 0;
    var w = S.qs[0];
    if (w) {
      var t = w.focusTarget ? w.focusTarget() : null;
      (t || w.el).focus({ preventScroll: true });
    }
  }

  function noteError(msg) {
    var e = $('review-note-error');
    e.textContent = msg || '';
    show(e, !!msg);
    $('review-note').setAttribute('aria-invalid', msg ? 'true' : 'false');
  }

  /* The note, or null when it is too long (flagged). */
  function readNote() {
    var note = $('review-note').value.trim();
    var bytes = new TextEncoder().encode(note).length;
    if (bytes > NOTE_MAX_BYTES) {
      noteError('This note is ' + bytes + ' bytes long; at most ' + NOTE_MAX_BYTES + ' are allowed.');
      $('review-note').focus();
      return null;
    }
    return note;
  }

  async function reviewAccept() {
    if (S.busy || !S.record || !S.record.review || S.view !== 'app') return;
    clearErrors();
    noteError('');
    if (!checkComplete()) return;
    var note = readNote();
    if (note === null) return;
    await decide(true, collect(false), note);
  }

  async function reviewReject() {
    if (S.busy || !S.record || !S.record.review || S.view !== 'app') return;
    clearErrors();
    noteError('');
    var note = readNote();
    if (note === null) return;
    await decide(false, null, note);
  }

  /* "Skip for now": the record goes back to the other reviewers; this page shows it again only
   * when nothing else waits. */
  async function reviewSkip() {
    if (S.busy || !S.record || !S.record.review || S.view !== 'app') return;
    var rec = S.record;
    S.skipped.add(rec.id);
    setBusy(true);
    await call('POST', '/api/release', { record: rec.id });
    if (S.record !== rec) return;
    setBusy(false);
    setStatus('Skipped ' + rec.id + ' for now.', 'ok');
    disposeRecord();
    await loadReview(true);
  }

  async function decide(accept, values, note) {
    var rec = S.record;
    var body = { record: rec.id, accept: accept };
    if (values) body.values = values;
    if (note) body.note = note;
    setBusy(true);
    setStatus(accept ? 'Accepting…' : 'Rejecting…');
    var r = await call('POST', '/api/review', body);
    if (S.record !== rec) return; /* logged out or replaced meanwhile */
    setBusy(false);
    if (r.handled) return;
    if (r.ok) {
      setStatus((accept ? 'Accepted ' : 'Rejected ') + rec.id + '. Here is the next record to review.', 'ok');
      disposeRecord();
      await loadReview(true);
      return;
    }
    setStatus('');
    if (r.status === 422) {
      showInvalid(r);
      return;
    }
    if (r.status === 409) {
      setStatus(message(r, 'This record is no longer yours to review.') + ' Your decision was not stored; here is the next record.', 'error');
      disposeRecord();
      await loadReview(true);
      return;
    }
    if (r.status === 403 && r.data.error === 'EPERM') {
      S.canReview = false;
      show($('mode-switch'), false);
      setWork('annotate', message(r, 'You may not review records.'));
      return;
    }
    var text;
    if (r.network) text = 'This page cannot reach the juror web server; nothing was stored. Try again in a moment.';
    else if (r.status === 503) text = 'The coordinator cannot be reached right now; your decision may not be stored. Try again in a moment.';
    else if (r.status === 413) text = message(r, 'These answers are too large.');
    else if (r.status === 429) text = message(r, 'Too many requests; wait a moment and try again.');
    else text = message(r, 'The decision could not be stored (HTTP ' + r.status + ').');
    setFormError(text);
    $('form-error').scrollIntoView({ block: 'nearest' });
  }

  /* ------------------------------------------------------------------------------------------
   * Keyboard
   * ---------------------------------------------------------------------------------------- */

  function isTyping(node) {
    if (!node || !(node instanceof Element)) return false;
    if (node.isContentEditable) return true;
    var tag = node.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
    if (tag === 'INPUT') {
      var t = (node.getAttribute('type') || 'text').toLowerCase();
      return ['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color'].indexOf(t) < 0;
    }
    return false;
  }

  /* Which question a number key goes to: the one focus is in (rating, label or multi-label),
   * else the first rating or single-label question without an answer. */
  function digitTarget() {
    var active = document.activeElement;
    var box = active instanceof Element ? active.closest('[data-question]') : null;
    if (box) {
      var w = S.qs.find(function (x) { return x.el === box; });
      if (w && w.key && (w.type === 'rating' || w.type === 'label_selection' || w.type === 'multi_label_selection'))
        return w;
    }
    return S.qs.find(function (x) {
      return x.key && (x.type === 'rating' || x.type === 'label_selection') && !x.answered();
    }) || null;
  }

  function onKeyDown(e) {
    if (S.view !== 'app') return;
    var onRecord = !!S.record && !$('workspace').hidden;
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.altKey) {
      if (!onRecord) return;
      e.preventDefault();
      if (S.record.review) reviewAccept();
      else submit();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (!/^[0-9]$/.test(e.key) || !onRecord || S.busy) return;
    if (isTyping(document.activeElement)) return;
    var w = digitTarget();
    if (!w) return;
    if (w.key(e.key)) e.preventDefault();
  }

  /* ------------------------------------------------------------------------------------------
   * Start
   * ---------------------------------------------------------------------------------------- */

  function readFragmentToken() {
    var h = location.hash ? location.hash.slice(1) : '';
    if (!h) return null;
    var params;
    try {
      params = new URLSearchParams(h);
    } catch (e) {
      return null;
    }
    var t = params.get('token');
    return t ? t : null;
  }

  /* The sticky question panel sits below the header, whose height changes (banner, wrapping). */
  function watchHeader() {
    var bar = $('topbar');
    var set = function () {
      document.documentElement.style.setProperty('--topbar-h', (bar.offsetHeight || 0) + 'px');
    };
    if (window.ResizeObserver) new ResizeObserver(set).observe(bar);
    window.addEventListener('resize', set);
    set();
  }

  function bind() {
    watchHeader();
    $('login-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var t = $('login-token').value.trim();
      if (!t) {
        $('login-error').textContent = 'Enter your web token.';
        $('login-token').focus();
        return;
      }
      login(t);
    });
    $('submit').addEventListener('click', submit);
    $('discard').addEventListener('click', discard);
    $('save-draft').addEventListener('click', saveDraft);
    $('logout').addEventListener('click', logout);
    $('check-now').addEventListener('click', function () {
      loadNext(true);
    });
    $('retry-now').addEventListener('click', function () {
      loadWork(true);
    });
    $('review-check-now').addEventListener('click', function () {
      loadReview(true);
    });
    $('mode-annotate').addEventListener('click', function () {
      setWork('annotate');
    });
    $('mode-review').addEventListener('click', function () {
      setWork('review');
    });
    $('accept').addEventListener('click', reviewAccept);
    $('reject').addEventListener('click', reviewReject);
    $('review-skip').addEventListener('click', reviewSkip);
    $('review-note').addEventListener('input', function () {
      noteError('');
    });
    document.addEventListener('keydown', onKeyDown);
  }

  async function start() {
    bind();
    var token = readFragmentToken();
    if (token !== null) {
      /* the token must not stay in the address bar or the history */
      try {
        history.replaceState(null, '', location.pathname + location.search);
      } catch (e) {
        location.hash = '';
      }
      await login(token);
      return;
    }
    await loadSession();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
