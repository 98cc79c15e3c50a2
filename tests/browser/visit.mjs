// Visit the built book in headless Chromium, as a reader meets it, and report what was seen as JSON.
//
//   node tests/browser/visit.mjs config.json report.json
//
// config.json: {base, chromium, pages: [relative URLs], screenshots: {page: {width: png path}}, searches: [terms],
//               concurrency}
// The report holds facts only (console errors, failed requests, links, images, math, buttons, search
// results, what must be scrolled sideways at three screen widths, axe-core's accessibility violations);
// tests/test_browser.py decides what is wrong. Requests to any host other than the book's own are
// aborted and recorded, so the book is checked as it reads offline, behind a firewall.
import { readFile, writeFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");   // pinned in package-lock.json

const [configPath, reportPath] = process.argv.slice(2);
const config = JSON.parse(await readFile(configPath, "utf8"));
const base = new URL(config.base);
const isOwn = (url) => {
  try {
    return new URL(url).origin === base.origin;
  } catch {
    return false;
  }
};
const rel = (url) => {
  const u = new URL(url);
  return decodeURIComponent(u.pathname.slice(base.pathname.length)) + u.search;
};

const VIEWPORT = { width: 1280, height: 900 };   // a laptop: the page is loaded, checked by axe and measured here
const WIDTHS = [{ width: 390, height: 844 }, VIEWPORT, { width: 1600, height: 1000 }];   // a phone, a laptop, a monitor
const userDataDir = await mkdtemp(join(tmpdir(), "book-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: config.chromium,
  headless: true,
  viewport: VIEWPORT,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage"],
});

// Offline: anything that is not the book itself is refused and written down.
const external = [];
await context.route("**/*", (route) => {
  const url = route.request().url();
  if (isOwn(url) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
  let from = "";
  try { from = rel(route.request().frame().url()); } catch { /* a worker or a closed page */ }
  external.push({ from, url });
  return route.abort("blockedbyclient");
});

function watch(page, record) {
  page.on("console", (msg) => {
    if (msg.type() === "error") record.consoleErrors.push(`${msg.text()} (${msg.location().url || ""})`);
    else if (msg.type() === "warning") record.consoleWarnings.push(msg.text());
  });
  page.on("pageerror", (err) => record.pageErrors.push(String(err)));
  page.on("requestfailed", (req) => {
    if (isOwn(req.url())) record.failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on("response", (resp) => {
    if (resp.status() >= 400 && isOwn(resp.url())) record.failedRequests.push(`${resp.url()}: HTTP ${resp.status()}`);
  });
}

async function settle(page) {
  // Images: no lazy loading left, every image decoded (or failed).
  await page.evaluate(async () => {
    const imgs = Array.from(document.images);
    imgs.forEach((img) => { img.loading = "eager"; });
    await Promise.all(imgs.map((img) => (img.complete ? null : img.decode().catch(() => null))));
  });
  // Math: wait for MathJax's first typesetting pass where the page loads MathJax.
  const hasMathJax = await page.evaluate(() => !!document.querySelector('script[src*="tex-mml-chtml"]'));
  let mathjaxProblem = null;
  if (hasMathJax) {
    try {
      await page.waitForFunction(() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise,
        null, { timeout: 15000 });
      await page.evaluate(() => window.MathJax.startup.promise.then(() => true));
    } catch (err) {
      mathjaxProblem = `MathJax did not finish typesetting: ${String(err).split("\n")[0]}`;
    }
  }
  await page.evaluate(() => document.fonts.ready.then(() => true));
  return { hasMathJax, mathjaxProblem };
}

async function facts(page) {
  return page.evaluate(() => {
    const abs = (href) => new URL(href, document.baseURI).href;
    const inArticle = (el) => !!el.closest("article, main, [role=main]");
    const mathEls = Array.from(document.querySelectorAll(".math"));
    return {
      title: document.title,
      ids: Array.from(document.querySelectorAll("[id], a[name]"), (e) => e.id || e.getAttribute("name")),
      links: Array.from(document.querySelectorAll("a[href]"), (a) => ({
        href: abs(a.getAttribute("href")), text: a.textContent.trim().slice(0, 80),
      })).filter((l) => !l.href.startsWith("javascript:") && !l.href.startsWith("mailto:")),
      images: Array.from(document.images, (img) => ({
        src: img.currentSrc || img.src,
        alt: img.getAttribute("alt"),
        complete: img.complete,
        naturalWidth: img.naturalWidth,
        inArticle: inArticle(img),
        cellOutput: !!img.closest(".cell_output, .output"),
      })),
      math: {
        elements: mathEls.length,
        containers: document.querySelectorAll("mjx-container").length,
        untypeset: mathEls.filter((e) => !e.querySelector("mjx-container")).slice(0, 20)
          .map((e) => e.textContent.trim().slice(0, 120)),
        errors: Array.from(document.querySelectorAll("mjx-merror"),
          (e) => e.getAttribute("data-mjx-error") || e.textContent.slice(0, 120)),
        rawTeX: /\\\(|\\\[|\$\$/.test(document.querySelector("article")?.innerText ?? ""),
        mathjax: window.MathJax && window.MathJax.version ? window.MathJax.version : null,
        mathjaxSrc: document.querySelector('script[src*="tex-mml-chtml"]')?.src ?? null,
      },
      downloads: Array.from(document.querySelectorAll(".dropdown-download-buttons a[href]"), (a) => ({
        href: abs(a.getAttribute("href")), text: a.textContent.trim(),
      })),
      launch: Array.from(document.querySelectorAll(".dropdown-launch-buttons a[href]"), (a) => ({
        href: a.href, text: a.textContent.trim(),
      })),
      exerciseDownloads: Array.from(document.querySelectorAll("a.download[href]"), (a) => abs(a.getAttribute("href"))),
      height: document.documentElement.scrollHeight,
    };
  });
}

// What a reader must scroll sideways to read, at the current width. Two ways a block can be too wide:
// - a scroller: a block with its own horizontal scrollbar (code, outputs, tables, display math) whose
//   content is wider than the block;
// - a spill: running text (a paragraph, a list item, a heading, a caption), a table or a display equation
//   wider than its column, which widens the page itself.
// Each is named by kind: code (a code cell), output (printed text), table, math, prose.
async function overflow(page) {
  return page.evaluate(() => {
    const article = document.querySelector("article") ?? document.body;
    const scrolls = (el) => /auto|scroll/.test(getComputedStyle(el).overflowX);
    const kind = (el) => {
      if (el.closest(".cell_output, .output")) return el.querySelector("table") || el.closest("table") ? "table" : "output";
      if (el.closest("div.highlight, pre")) return "code";
      if (el.matches("mjx-container, .math") || el.querySelector("mjx-container[display=true]")) return "math";
      if (el.matches("table, .pst-scrollable-table-container, .table-wrapper") || el.querySelector("table")) return "table";
      return "prose";
    };
    const line = (el) => el.innerText.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "").slice(0, 140);
    const found = [];
    for (const el of article.querySelectorAll("*")) {
      if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
      const scroller = scrolls(el);
      const text = !scroller && el.matches("p, li, dt, dd, h1, h2, h3, h4, h5, h6, figcaption, caption, blockquote, "
        + "table, div.math, mjx-container[display=true]");
      if (!scroller && !text) continue;
      if (found.some((f) => f.el.contains(el))) continue;   // inside a block already counted
      found.push({ el, kind: kind(el), scroller, width: el.scrollWidth, column: el.clientWidth, line: line(el) });
    }
    const page = document.documentElement;
    return {
      pageWidth: page.scrollWidth, viewport: window.innerWidth,
      blocks: found.map(({ el, ...rest }) => rest),
    };
  });
}

// Accessibility: axe-core, injected from node_modules (the book is offline), its violations by rule and impact.
async function accessibility(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
      targets: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), html: n.html.slice(0, 160) })),
    }));
  });
}

async function visit(path) {
  const record = { page: path, consoleErrors: [], consoleWarnings: [], pageErrors: [], failedRequests: [] };
  const page = await context.newPage();
  watch(page, record);
  const started = Date.now();
  try {
    const url = new URL(path, base).href;
    // index.html is a redirect (meta refresh) to the root page: follow it as a browser does.
    const redirects = /<meta[^>]+http-equiv=["']?refresh/i.test(await (await fetch(url)).text());
    const resp = await page.goto(url, { waitUntil: "load", timeout: 30000 });
    record.status = resp ? resp.status() : null;
    if (redirects) {
      await page.waitForURL((u) => u.href !== url, { timeout: 10000 });
      await page.waitForLoadState("load");
    }
    record.finalPage = rel(page.url());
    Object.assign(record, await settle(page));
    Object.assign(record, await facts(page));
    const lap = (name, since) => { record.timings[name] = (Date.now() - since) / 1000; return Date.now(); };
    record.timings = {};
    let t = lap("load", started);
    record.axe = await accessibility(page);
    t = lap("axe", t);
    record.overflow = {};
    record.screenshots = {};
    for (const size of WIDTHS) {
      await page.setViewportSize(size);
      record.overflow[size.width] = await overflow(page);
      t = lap(`overflow ${size.width}`, t);
      const shot = config.screenshots?.[path]?.[size.width];
      if (shot) {
        await mkdir(dirname(shot), { recursive: true });
        await page.screenshot({ path: shot, fullPage: true });
        record.screenshots[size.width] = shot;
        t = lap(`screenshot ${size.width}`, t);
      }
    }
  } catch (err) {
    record.error = String(err);
  } finally {
    record.seconds = (Date.now() - started) / 1000;
    await page.close();
  }
  return record;
}

// Search as a reader does: open the search dialog on the first page, type the term, press Enter.
async function search(term) {
  const record = { term, consoleErrors: [], consoleWarnings: [], pageErrors: [], failedRequests: [] };
  const page = await context.newPage();
  watch(page, record);
  try {
    await page.goto(new URL(config.searchFrom ?? config.pages[0], base).href, { waitUntil: "load" });
    await page.waitForLoadState("load");
    await page.keyboard.press("Control+k");
    const box = page.locator('#pst-search-dialog input[name="q"]');
    await box.waitFor({ state: "visible", timeout: 5000 });
    await box.pressSequentially(term, { delay: 10 });
    await Promise.all([page.waitForURL(/search\.html/, { timeout: 10000 }), box.press("Enter")]);
    record.url = rel(page.url());
    await page.waitForFunction(() => document.querySelector("#search-results h2")?.textContent === "Search Results",
      null, { timeout: 20000 });
    record.results = await page.evaluate(() => Array.from(document.querySelectorAll("#search-results ul.search li a"),
      (a) => a.href));
    record.results = [...new Set(record.results.map((u) => rel(u.split("#")[0]).split("?")[0]))];
    record.summary = await page.locator("#search-results .search-summary").textContent();
  } catch (err) {
    record.error = String(err);
  } finally {
    await page.close();
  }
  return record;
}

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

const t0 = Date.now();
const pages = await pool(config.pages, config.concurrency ?? 2, visit);

// Internal links: every target answers, and an anchor (#id) exists on the page it points into.
const idsByPage = new Map(pages.filter((p) => p.ids).map((p) => [p.finalPage, new Set(p.ids)]));
const status = new Map();
const brokenLinks = [];
for (const p of pages) {
  for (const link of p.links ?? []) {
    if (!isOwn(link.href)) continue;
    const u = new URL(link.href);
    const target = rel(u.origin + u.pathname);
    if (!status.has(target)) {
      const r = await fetch(u.origin + u.pathname, { method: "HEAD" }).catch((e) => ({ status: String(e) }));
      status.set(target, r.status);
    }
    if (status.get(target) !== 200) {
      brokenLinks.push({ from: p.page, href: rel(link.href) + u.hash, text: link.text, problem: `HTTP ${status.get(target)}` });
    } else if (u.hash.length > 1 && idsByPage.has(target)
      && !idsByPage.get(target).has(decodeURIComponent(u.hash.slice(1)))) {
      brokenLinks.push({ from: p.page, href: rel(link.href) + u.hash, text: link.text, problem: "no such anchor" });
    }
  }
}
for (const p of pages) delete p.ids;

const searches = [];
for (const term of config.searches ?? []) searches.push(await search(term));

await context.close();
await rm(userDataDir, { recursive: true, force: true });
await writeFile(reportPath, JSON.stringify({
  pages, searches, brokenLinks, external, checkedTargets: status.size, seconds: (Date.now() - t0) / 1000,
}, null, 1));
