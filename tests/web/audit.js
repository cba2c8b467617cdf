() => {
  // What a screen reader or a keyboard would stumble on in this page, by kind; every list empty when all is well.
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const found = {};
  const headings = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')];
  found.h1 = headings.filter(h => h.tagName === 'H1').length === 1 ? [] : ['not exactly one h1'];
  found.heading_skips = [];
  headings.reduce((prev, h) => {
    const level = +h.tagName[1];
    if (level > prev + 1) found.heading_skips.push(`h${prev} then h${level}: ${h.textContent.slice(0, 40)}`);
    return level;
  }, 0);
  found.unlabelled = [...document.querySelectorAll('input:not([type=hidden]),select,textarea,button')]
    .filter(el => !((el.labels && [...el.labels].some(l => l.textContent.trim())) || el.getAttribute('aria-label')
      || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map(el => el.outerHTML.slice(0, 80));
  found.fields_without_visible_label = [...document.querySelectorAll('input:not([type=hidden]),select,textarea')]
    .filter(el => shown(el) && !(el.labels && [...el.labels].some(l => shown(l) && l.innerText.trim())))
    .map(el => el.outerHTML.slice(0, 80));
  found.tables_without_header_cells = [...document.querySelectorAll('table')]
    .filter(t => !t.querySelector('th')).map(t => t.textContent.slice(0, 40));
  found.empty_header_cells = [...document.querySelectorAll('th')]
    .filter(th => !th.textContent.trim()).map(th => th.closest('table').textContent.slice(0, 40));
  found.unlabelled_svg = [...document.querySelectorAll('svg')]
    .filter(s => !(s.getAttribute('role') === 'img' && s.getAttribute('aria-label'))).length ? ['svg without role=img and a label'] : [];
  found.charts_without_numbers = [...document.querySelectorAll('section.chart')]
    .filter(c => c.querySelector('svg') && !c.querySelector('table'))
    .map(c => c.querySelector('h2').textContent);
  const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = c => c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      if (e instanceof SVGElement && e.tagName !== 'svg') continue;
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    return layers.reverse().reduce((under, c) => under.map((v, i) => c[i] * c[3] + v * (1 - c[3])), [255, 255, 255]);
  };
  found.low_contrast = []; found.svg_text_under_9px = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || !shown(el) || el.closest('title')) continue;
    seen.add(el);
    const s = getComputedStyle(el);
    const svg = el instanceof SVGElement ? el.ownerSVGElement || el.closest('svg') : null;
    const fg = rgb(svg ? s.fill : s.color);
    if (!fg) continue;
    if (svg && el.closest('g') && el.closest('g').querySelector('rect[fill]')) continue;  // a graph node: on its own box
    const bg = background(el);
    const mixed = bg.map((v, i) => fg[i] * fg[3] + v * (1 - fg[3]));
    const [a, b] = [lum(mixed), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    let px = parseFloat(s.fontSize);
    if (svg) px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const large = px >= 24 || (px >= 18.66 && +s.fontWeight >= 700);
    if (ratio < (large ? 3 : 4.5)) found.low_contrast.push(`${ratio.toFixed(2)} ${el.tagName} "${el.textContent.trim().slice(0, 30)}"`);
    if (svg && px < 9) found.svg_text_under_9px.push(`${px.toFixed(1)}px "${el.textContent.trim().slice(0, 30)}"`);
  }
  const navs = [...document.querySelectorAll('nav')].map(n => n.getAttribute('aria-label'));
  found.unnamed_navigation = navs.length > 1 && (navs.includes(null) || new Set(navs).size < navs.length) ? navs : [];
  const described = b => (b.getAttribute('aria-describedby') || '').split(' ')
    .map(id => document.getElementById(id)).filter(Boolean).map(e => e.textContent.trim()).join(' ');
  const buttons = [...document.querySelectorAll('button')].map(b => b.textContent.trim() + ' | ' + described(b));
  found.buttons_alike = [...new Set(buttons.filter((b, i) => buttons.indexOf(b) !== i))].slice(0, 5);
  // Bars and legend swatches are graphics that carry meaning: fill or outline at least 3:1 against the card.
  const hex = h => h && /^#[0-9a-f]{6}$/i.test(h) ? [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)) : null;
  const against = c => c ? (Math.max(lum(c), 1) + 0.05) / (Math.min(lum(c), 1) + 0.05) : 0;
  found.faint_chart_shapes = [...new Set([...document.querySelectorAll('section.chart svg rect')]
    .filter(r => Math.max(against(hex(r.getAttribute('fill'))), against(hex(r.getAttribute('stroke')))) < 3)
    .map(r => r.getAttribute('fill')))];
  // A one-word value (resolved, data_corruption, SEV1) broken over two lines of a table cell reads as two words.
  found.words_split_in_cells = [...document.querySelectorAll('td')].filter(td => {
    const t = td.textContent.trim();
    if (!t || /\s/.test(t) || t.length > 24 || !shown(td)) return false;
    const r = document.createRange(); r.selectNodeContents(td);
    return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1;
  }).map(td => td.textContent.trim()).slice(0, 5);
  // So is a date or a time among a cell's words ("2026-" / "12-07" read as two values).
  const dated = /^(\d{4}-\d{2}-\d{2}|\d{2}:\d{2})$/;
  found.dates_split_in_cells = [...document.querySelectorAll('td')].filter(shown).flatMap(td => {
    const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT), split = [];
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      for (const m of n.data.matchAll(/\S+/g)) {
        if (!dated.test(m[0])) continue;
        const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        if (new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1) split.push(m[0]);
      }
    }
    return split;
  }).slice(0, 5);
  found.page_scrolls_sideways = document.documentElement.scrollWidth > innerWidth ? [document.documentElement.scrollWidth] : [];
  return found;
}
