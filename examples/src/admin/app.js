// The provisioning inspector's page: polls /admin/api/state every two seconds and renders
// it. Everything a client sent is written with textContent, never parsed as HTML.
"use strict";
(function () {
  const REFRESH_MS = 2000;
  const filters = { failures: false, client: "" };
  const $ = (id) => document.getElementById(id);

  function setText(element, value) {
    element.textContent = value === null || value === undefined ? "" : String(value);
  }

  function cell(row, value, className) {
    const td = document.createElement("td");
    setText(td, value);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function clock(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return iso;
    const pad = (n, width) => String(n).padStart(width || 2, "0");
    return `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
  }

  function problemOf(exchange) {
    const parts = [];
    if (exchange.authFailure) parts.push(`authentication: ${exchange.authFailure}`);
    if (exchange.detail) parts.push(exchange.detail);
    if (exchange.bulk && exchange.bulk.failed) {
      parts.push(`${exchange.bulk.failed} of ${exchange.bulk.operations} Bulk operations failed`);
    }
    if (exchange.revokedUsers) {
      parts.push(`revoked ${exchange.revokedUsers} user(s), ${exchange.revokedSessions} session(s)`);
    }
    return parts.join(" · ");
  }

  function renderExchanges(exchanges) {
    const body = document.querySelector("#exchanges tbody");
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.seq
      : undefined;
    const rows = exchanges.map((exchange) => {
      const row = document.createElement("tr");
      row.className = exchange.failed ? "exchange failed" : "exchange";
      row.dataset.seq = exchange.seq;
      row.dataset.status = exchange.status;
      const time = cell(row, clock(exchange.at), "time");
      time.title = exchange.at;
      cell(row, exchange.client || "(not authenticated)", "client");
      cell(row, exchange.method, "method");
      cell(row, exchange.query ? `${exchange.path}?${exchange.query}` : exchange.path, "path");
      const status = cell(row, "", "status");
      if (exchange.failed) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "Failed";
        status.appendChild(badge);
      }
      status.appendChild(document.createTextNode(String(exchange.status)));
      cell(row, `${exchange.durationMs} ms`, "duration");
      const problem = cell(row, "", "problem");
      if (exchange.scimType) {
        const type = document.createElement("span");
        type.className = "scim-type";
        type.textContent = `${exchange.scimType}: `;
        problem.appendChild(type);
      }
      problem.appendChild(document.createTextNode(problemOf(exchange)));
      const actions = cell(row, "", "actions");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "show-bodies";
      button.dataset.seq = exchange.seq;
      button.textContent = "Show";
      button.setAttribute("aria-controls", "detail");
      button.setAttribute("aria-label", `Show the bodies of ${exchange.method} ${exchange.path} at ${clock(exchange.at)}`);
      button.addEventListener("click", () => showDetail(exchange.seq));
      actions.appendChild(button);
      return row;
    });
    body.replaceChildren(...rows);
    $("no-exchanges").hidden = rows.length > 0;
    if (focused) {
      const again = body.querySelector(`button[data-seq="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function renderClients(clients) {
    const select = $("client-filter");
    const options = [new Option("All clients", "")].concat(clients.map((c) => new Option(c, c)));
    if (filters.client && !clients.includes(filters.client)) {
      options.push(new Option(filters.client, filters.client));
    }
    select.replaceChildren(...options);
    select.value = filters.client;
  }

  function renderDeprovisionings(list) {
    const body = document.querySelector("#deprovisionings tbody");
    const rows = list.map((d) => {
      const row = document.createElement("tr");
      row.className = d.succeeded ? "deprovisioning" : "deprovisioning failed";
      const time = cell(row, clock(d.at), "time");
      time.title = d.at;
      cell(row, d.client, "client");
      cell(row, d.reason, "reason");
      cell(row, d.userIds.join(", "), "users");
      cell(row, d.sessions === null ? "not counted" : d.sessions, "sessions");
      cell(row, d.succeeded ? "revoked" : "revocation failed (answered 503)", "outcome");
      return row;
    });
    body.replaceChildren(...rows);
    $("no-deprovisionings").hidden = rows.length > 0;
  }

  function render(state) {
    setText($("count-users"), state.counts.users === null ? "?" : state.counts.users);
    setText($("count-groups"), state.counts.groups === null ? "?" : state.counts.groups);
    setText($("count-kept"), `${state.kept} of the last ${state.capacity}`);
    setText($("count-failed"), state.failed);
    renderClients(state.clients);
    renderExchanges(state.exchanges);
    renderDeprovisionings(state.deprovisionings);
    setText($("updated"), `Updated ${new Date().toLocaleTimeString()}; ${state.seen} requests seen since the server started.`);
  }

  function pretty(text) {
    if (text === null || text === undefined) return "(no body)";
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  async function showDetail(seq) {
    const response = await fetch(`/admin/api/exchanges/${encodeURIComponent(seq)}`, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) {
      window.location.reload();
      return;
    }
    const detail = $("detail");
    if (!response.ok) {
      setText($("detail-summary"), "This exchange has left the history.");
      setText($("detail-request"), "");
      setText($("detail-response"), "");
    } else {
      const exchange = await response.json();
      setText($("detail-heading"), `${exchange.method} ${exchange.path} → ${exchange.status}`);
      const who = exchange.client ? `${exchange.client} (profile ${exchange.profile})` : "an unauthenticated client";
      const problem = problemOf(exchange);
      setText($("detail-summary"), `${exchange.at} · ${who} · ${exchange.durationMs} ms${exchange.scimType ? ` · scimType ${exchange.scimType}` : ""}${problem ? ` · ${problem}` : ""}`);
      setText($("detail-request"), pretty(exchange.requestBody));
      setText($("detail-response"), pretty(exchange.responseBody));
    }
    detail.hidden = false;
    detail.dataset.seq = seq;
    detail.focus();
  }

  // A filter change refreshes at once while a periodic refresh may be under way: only the
  // answer to the latest request is rendered.
  let latest = 0;

  async function refresh() {
    const generation = ++latest;
    const params = new URLSearchParams();
    if (filters.failures) params.set("failures", "1");
    if (filters.client) params.set("client", filters.client);
    let response;
    try {
      response = await fetch(`/admin/api/state?${params}`, { credentials: "same-origin", cache: "no-store" });
    } catch (_) {
      setText($("updated"), "Cannot reach the server; retrying.");
      return;
    }
    if (response.status === 401) {
      window.location.reload();
      return;
    }
    if (!response.ok) {
      setText($("updated"), `The server answered ${response.status}; retrying.`);
      return;
    }
    const state = await response.json();
    if (generation === latest) render(state);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("failures-only").addEventListener("change", (event) => {
      filters.failures = event.target.checked;
      refresh();
    });
    $("client-filter").addEventListener("change", (event) => {
      filters.client = event.target.value;
      refresh();
    });
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("detail-close").addEventListener("click", () => {
      $("detail").hidden = true;
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
  });
})();
