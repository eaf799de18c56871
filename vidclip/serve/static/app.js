// The vidclip page: search -> thumbnails -> player with moments, saliency and zero-shot labels.
// Plain JS against the JSON API (/openapi.json describes it); no build step, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { query: "", open: null };
const LANE_PX = 12;

async function api(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  Object.entries(attributes).forEach(([name, value]) => node.setAttribute(name, value));
  node.textContent = text;
  return node;
}

async function search(event) {
  event.preventDefault();
  state.query = $("query").value.trim();
  if (!state.query) return;
  showError(null);
  try {
    const found = await api(`/api/search?k=12&q=${encodeURIComponent(state.query)}`);
    $("info").textContent = `${found.results.length} results in ${found.took_ms} ms`;
    $("results").replaceChildren(...found.results.map(resultCard));
  } catch (error) { showError(error); }
}

function resultCard(result) {
  const card = element("button", { class: "result", type: "button", "data-id": result.id, title: result.name });
  card.append(element("img", { src: `/api/videos/${result.id}/thumbnail?at=${result.at}`, alt: result.name }),
              element("span", {}, `${result.score.toFixed(3)}  ${result.name}`));
  card.addEventListener("click", () => openVideo(result, card));
  return card;
}

function openVideo(result, card) {
  state.open = result;
  document.querySelectorAll(".result.open").forEach((node) => node.classList.remove("open"));
  card.classList.add("open");
  $("viewer").hidden = false;
  $("title").textContent = result.name;
  $("label-list").replaceChildren();
  const player = $("player");
  player.src = `/api/videos/${result.id}`;
  player.addEventListener("loadedmetadata", () => {
    player.currentTime = result.at * player.duration;  // start where the query matches best
    player.play().catch(() => {});
  }, { once: true });
  loadMoments(result.id, state.query);
}

async function loadMoments(id, query) {
  drawMoments({ moments: [], saliency: [], duration: 1, saliency_clip_seconds: 2 });
  const bar = $("moments-progress");
  $("moments-text").textContent = "finding moments…";
  bar.hidden = false;
  bar.removeAttribute("value");  // indeterminate until the server reports a fraction
  const poll = setInterval(async () => {
    const progress = await api(`/api/videos/${id}/progress`).catch(() => null);
    if (progress && progress.computing) bar.value = progress.fraction;
  }, 300);
  try {
    const found = await api(`/api/moments?id=${id}&top_k=5&q=${encodeURIComponent(query)}`);
    if (state.open && state.open.id === id) drawMoments(found);
  } catch (error) {
    $("moments-text").textContent = "";
    showError(error);
  } finally {
    clearInterval(poll);
    bar.hidden = true;
  }
}

function drawMoments(found) {
  const duration = found.duration || 1;
  const values = found.saliency;
  const low = Math.min(...values), high = Math.max(...values);
  const points = values.map((value, i) => {
    const x = (((i + 0.5) * found.saliency_clip_seconds) / duration) * 1000;
    const y = 55 - (high > low ? (value - low) / (high - low) : 0.5) * 50;
    return `${Math.min(x, 1000).toFixed(1)},${y.toFixed(1)}`;
  });
  $("saliency").querySelector("polyline").setAttribute("points", points.join(" "));
  const timeline = $("timeline"), list = $("moment-list");
  timeline.replaceChildren(element("div", { id: "playhead" }));
  timeline.style.height = `${Math.max(1, found.moments.length) * LANE_PX}px`;
  list.replaceChildren();
  found.moments.forEach((moment, rank) => {
    const label = `${moment.start.toFixed(2)}–${moment.end.toFixed(2)} s (${moment.score.toFixed(3)})`;
    const block = element("button", { class: rank === 0 ? "moment best" : "moment", type: "button",
                                      title: label, "data-start": moment.start });
    block.style.left = `${(100 * moment.start) / duration}%`;
    block.style.width = `${(100 * (Math.min(moment.end, duration) - moment.start)) / duration}%`;
    block.style.top = `${rank * LANE_PX}px`;  // one lane per moment, best on top: overlaps stay visible
    block.addEventListener("click", () => seek(moment.start));
    timeline.append(block);
    const item = element("li");
    const link = element("a", { "data-start": moment.start }, label);
    link.addEventListener("click", () => seek(moment.start));
    item.append(link);
    list.append(item);
  });
  $("moments-text").textContent = found.method ? `${found.moments.length} moments (${found.method})` : "";
}

function seek(seconds) {
  const player = $("player");
  player.currentTime = seconds;
  player.play().catch(() => {});  // browsers may refuse to autoplay; the seek still happens
}

async function label(event) {
  event.preventDefault();
  const labels = $("labels").value.split(",").map((text) => text.trim()).filter(Boolean);
  if (!state.open || !labels.length) return;
  showError(null);
  try {
    const found = await api("/api/classify", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: state.open.id, labels }),
    });
    $("label-list").replaceChildren(...found.labels.map((item) => {
      const row = element("li", {}, `${item.label} ${(100 * item.probability).toFixed(1)}%`);
      const bar = element("span", { class: "bar" });
      bar.style.width = `${Math.round(120 * item.probability)}px`;
      row.append(bar);
      return row;
    }));
  } catch (error) { showError(error); }
}

async function showInfo() {
  const info = await api("/api/info").catch(() => null);
  if (info) $("info").textContent = `${info.count} videos · ${info.model} · moments by ${info.moments}`;
}

$("player").addEventListener("timeupdate", () => {
  const player = $("player"), playhead = $("playhead");
  if (playhead && player.duration) playhead.style.left = `${(100 * player.currentTime) / player.duration}%`;
});
$("search-form").addEventListener("submit", search);
$("labels-form").addEventListener("submit", label);
showInfo();
