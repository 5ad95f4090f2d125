// OpenWork Toy UI: a small client of the server's public API, served by the server itself.
// No framework and no build step. Every call goes to this page's own origin with
// `Authorization: Bearer <token>`; the token comes from the URL fragment (`#token=…`, which
// never reaches the server) and is kept in localStorage.
(() => {
  'use strict';

  const TOKEN_KEY = 'openwork.toy.token';
  const APPROVAL_POLL_MS = 2000;
  const EVENT_POLL_MS = 3000;
  const MAX_EVENTS = 60;

  const state = {
    token: null,
    // The workspace named by a `/w/<id>/ui` path, if any.
    pinnedWorkspace: null,
    workspaceId: null,
    // The last reload-event sequence number seen, to resume without duplicates.
    since: 0,
    events: null,
    approvalsTimer: null,
  };

  // ---------------------------------------------------------------------------------------
  // Small DOM helpers (text is always set as text, never parsed as HTML)
  // ---------------------------------------------------------------------------------------

  const $ = (selector) => document.querySelector(selector);
  const enc = encodeURIComponent;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fillList(list, items, render, emptyText) {
    list.replaceChildren(
      ...(items.length ? items.map(render) : [el('li', { class: 'empty', text: emptyText })]),
    );
  }

  function formatBytes(n) {
    if (typeof n !== 'number') return '';
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  }

  function formatTime(ms) {
    return typeof ms === 'number' ? new Date(ms).toLocaleString() : '';
  }

  function formatUptime(ms) {
    const s = Math.floor((ms || 0) / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
  }

  // ---------------------------------------------------------------------------------------
  // API access and error display
  // ---------------------------------------------------------------------------------------

  /** An error answer of the API: `{code, message, details?}` plus the HTTP status. */
  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    if (state.token) headers.set('Authorization', `Bearer ${state.token}`);
    let body = options.body;
    if (options.json !== undefined) {
      headers.set('Content-Type', 'application/json');
      body = JSON.stringify(options.json);
    }
    let response;
    try {
      response = await fetch(path, {
        method: options.method || 'GET',
        headers,
        body,
        signal: options.signal,
        cache: 'no-store',
      });
    } catch (error) {
      if (options.signal && options.signal.aborted) throw error;
      throw new ApiError(0, 'network_error', `Cannot reach the server (${error.message})`);
    }
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = response.statusText || 'Request failed';
      let details;
      try {
        const payload = await response.json();
        if (payload && typeof payload.code === 'string') {
          code = payload.code;
          message = typeof payload.message === 'string' ? payload.message : message;
          details = payload.details;
        }
      } catch {
        // Not JSON: keep the status text.
      }
      throw new ApiError(response.status, code, message, details);
    }
    if (options.raw) return response;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  function describe(error) {
    const parts = [el('code', { text: error.code || 'error' }), ' ', error.message || String(error)];
    if (error.status) parts.push(` (HTTP ${error.status})`);
    if (error.details !== undefined) {
      parts.push(el('br'), el('span', { class: 'mono', text: JSON.stringify(error.details) }));
    }
    return parts;
  }

  function showError(panel, error) {
    const box = document.querySelector(`[data-error="${panel}"]`);
    if (!box) return;
    box.replaceChildren(...describe(error));
    box.hidden = false;
  }

  function clearError(panel) {
    const box = document.querySelector(`[data-error="${panel}"]`);
    if (box) box.hidden = true;
  }

  function showBanner(content) {
    const banner = $('#banner');
    banner.replaceChildren(...(Array.isArray(content) ? content : [content]));
    banner.hidden = false;
  }

  function hideBanner() {
    $('#banner').hidden = true;
  }

  /** Runs one panel's loader or action, showing its error in that panel. */
  async function run(panel, task) {
    try {
      const result = await task();
      clearError(panel);
      return result;
    } catch (error) {
      if (error && error.name === 'AbortError') return undefined;
      showError(panel, error);
      return undefined;
    }
  }

  /** Disables a form's buttons while its request is in flight. */
  async function busy(form, task) {
    const buttons = form.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      return await task();
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  const ws = (suffix) => `/workspace/${enc(state.workspaceId)}${suffix}`;

  async function download(path, fallbackName) {
    const response = await api(path, { raw: true });
    const disposition = response.headers.get('Content-Disposition') || '';
    const match = /filename="([^"]*)"/.exec(disposition);
    const url = URL.createObjectURL(await response.blob());
    const link = el('a', { href: url, download: match ? match[1] : fallbackName });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  // ---------------------------------------------------------------------------------------
  // Token and workspace from the URL
  // ---------------------------------------------------------------------------------------

  /** Moves `#token=…` into localStorage and removes it from the address bar and history. */
  function takeTokenFromFragment() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return;
    const params = new URLSearchParams(fragment);
    if (!params.has('token')) return;
    const token = (params.get('token') || '').trim();
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    if (token) localStorage.setItem(TOKEN_KEY, token);
  }

  function workspaceFromPath() {
    const match = /^\/w\/([^/]+)\//.exec(location.pathname);
    if (!match) return null;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return match[1];
    }
  }

  // ---------------------------------------------------------------------------------------
  // Panels
  // ---------------------------------------------------------------------------------------

  async function loadWhoami() {
    const body = await api('/whoami');
    const actor = body.actor || {};
    $('#whoami').replaceChildren('Connected as ', el('strong', { text: actor.scope || '?' }),
      actor.clientId ? ` (${actor.clientId})` : '');
    return actor;
  }

  async function loadStatus() {
    const [status, caps] = await Promise.all([api('/status'), api('/capabilities')]);
    const files = (caps.toolProviders || {}).files || {};
    const facts = [
      ['Server', `openwork-server ${status.version}`, 'status-version', true],
      ['Selected workspace', state.workspaceId || 'none', 'status-workspace', true],
      ['Approval', `${status.approval.mode} (${status.approval.timeoutMs} ms)`, 'status-approval'],
      ['Read-only', status.readOnly ? 'yes' : 'no'],
      ['Workspaces', String(status.workspaceCount)],
      ['Uptime', formatUptime(status.uptimeMs)],
      ['Inbox limit', formatBytes(files.maxBytes)],
      ['OpenCode proxy', caps.proxy && caps.proxy.opencode ? 'configured' : 'not configured'],
    ];
    $('#status').replaceChildren(...facts.map(([label, value, testid, wide]) =>
      el('div', { class: wide ? 'wide' : null }, el('dt', { text: label }),
        el('dd', { text: value, 'data-testid': testid }))));
  }

  async function loadWorkspaces() {
    const body = await api('/workspaces');
    const items = body.items || [];
    const ids = items.map((w) => w.id);
    if (!state.workspaceId || !ids.includes(state.workspaceId)) {
      state.workspaceId = state.pinnedWorkspace || (items[0] && items[0].id) || null;
    }
    const select = $('#workspace-select');
    const options = items.map((w) => el('option', { value: w.id, text: `${w.displayName || w.name} · ${w.id}` }));
    if (state.workspaceId && !ids.includes(state.workspaceId)) {
      options.push(el('option', { value: state.workspaceId, text: `${state.workspaceId} (from URL)` }));
    }
    select.replaceChildren(...options);
    select.value = state.workspaceId || '';
    fillList($('#workspaces-list'), items, (w) => el('li', { 'data-id': w.id },
      el('div', { class: 'main' },
        el('div', { class: 'name', text: w.displayName || w.name }),
        el('div', { class: 'sub mono', text: `${w.id} · ${w.path || w.baseUrl || ''}` })),
      w.id === body.activeId ? el('span', { class: 'tag', text: 'active' }) : null,
      w.id === state.workspaceId ? el('span', { class: 'tag', text: 'selected' }) : null,
    ), 'No workspaces configured');
  }

  async function loadSkills() {
    const body = await api(ws('/skills'));
    fillList($('#skills-list'), body.items || [], (skill) => el('li', { 'data-name': skill.name },
      el('div', { class: 'main' },
        el('div', { class: 'name', text: skill.name }),
        el('div', { class: 'sub', text: skill.description })),
      el('span', { class: 'tag', text: skill.scope }),
      el('button', {
        type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete skill ${skill.name}`,
        onclick: () => run('skills', async () => {
          await api(ws(`/skills/${enc(skill.name)}`), { method: 'DELETE' });
          await loadSkills();
        }),
      })), 'No skills yet');
  }

  async function loadCommands() {
    const body = await api(ws('/commands'));
    fillList($('#commands-list'), body.items || [], (command) => el('li', { 'data-name': command.name },
      el('div', { class: 'main' },
        el('div', { class: 'name', text: `/${command.name}` }),
        el('div', { class: 'sub', text: command.description || command.template })),
      el('button', {
        type: 'button', class: 'small danger', text: 'Delete', 'aria-label': `Delete command ${command.name}`,
        onclick: () => run('commands', async () => {
          await api(ws(`/commands/${enc(command.name)}`), { method: 'DELETE' });
          await loadCommands();
        }),
      })), 'No commands yet');
  }

  async function loadPlugins() {
    const body = await api(ws('/plugins'));
    fillList($('#plugins-list'), body.items || [], (plugin) => el('li', {},
      el('div', { class: 'main' },
        el('div', { class: 'name mono', text: plugin.spec }),
        el('div', { class: 'sub', text: plugin.path || plugin.source })),
      el('span', { class: 'tag', text: plugin.source }),
      plugin.source === 'config' ? el('button', {
        type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove plugin ${plugin.spec}`,
        onclick: () => run('plugins', async () => {
          await api(ws(`/plugins/${enc(plugin.spec)}`), { method: 'DELETE' });
          await loadPlugins();
        }),
      }) : null), 'No plugins');
  }

  async function loadMcp() {
    const body = await api(ws('/mcp'));
    fillList($('#mcp-list'), body.items || [], (item) => {
      const config = item.config || {};
      const target = config.url || (Array.isArray(config.command) ? config.command.join(' ') : '');
      return el('li', { 'data-name': item.name },
        el('div', { class: 'main' },
          el('div', { class: 'name', text: item.name }),
          el('div', { class: 'sub mono', text: `${config.type || '?'} · ${target}` })),
        item.disabledByTools ? el('span', { class: 'tag', text: 'denied by tools' }) : null,
        el('span', { class: 'tag', text: item.source === 'config.global' ? 'global' : 'project' }),
        item.source === 'config.project' ? el('button', {
          type: 'button', class: 'small danger', text: 'Remove', 'aria-label': `Remove MCP ${item.name}`,
          onclick: () => run('mcp', async () => {
            await api(ws(`/mcp/${enc(item.name)}`), { method: 'DELETE' });
            await loadMcp();
          }),
        }) : null);
    }, 'No MCP servers');
  }

  async function loadApprovals() {
    const body = await api('/approvals');
    fillList($('#approvals-list'), body.items || [], (request) => el('li', { 'data-id': request.id },
      el('div', { class: 'main' },
        el('div', { class: 'name', text: request.summary }),
        el('div', { class: 'sub mono', text: `${request.action} · ${(request.paths || []).join(', ')}` }),
        el('div', { class: 'sub', text: `by ${request.actor ? request.actor.scope : '?'} · ${formatTime(request.createdAt)}` })),
      el('button', { type: 'button', class: 'small allow', text: 'Allow', 'aria-label': `Allow: ${request.summary}`,
        onclick: () => replyApproval(request.id, 'allow') }),
      el('button', { type: 'button', class: 'small danger', text: 'Deny', 'aria-label': `Deny: ${request.summary}`,
        onclick: () => replyApproval(request.id, 'deny') }),
    ), 'Nothing waiting');
  }

  function replyApproval(id, reply) {
    return run('approvals', async () => {
      await api(`/approvals/${enc(id)}`, { method: 'POST', json: { reply } });
      await loadApprovals();
    });
  }

  async function loadTokens() {
    const body = await api('/tokens');
    fillList($('#tokens-list'), body.items || [], (token) => el('li', { 'data-id': token.id },
      el('div', { class: 'main' },
        el('div', { class: 'name', text: token.label || '(no label)' }),
        el('div', { class: 'sub mono', text: `${token.id} · ${formatTime(token.createdAt)}` })),
      el('span', { class: 'tag', text: token.scope }),
      el('button', {
        type: 'button', class: 'small danger', text: 'Revoke', 'aria-label': `Revoke token ${token.label || token.id}`,
        onclick: () => run('tokens', async () => {
          await api(`/tokens/${enc(token.id)}`, { method: 'DELETE' });
          await loadTokens();
        }),
      })), 'No scoped tokens');
  }

  async function loadInbox() {
    const body = await api(ws('/inbox'));
    fillList($('#inbox-list'), body.items || [], (item) => el('li', { 'data-path': item.path },
      el('div', { class: 'main' },
        el('div', { class: 'name mono', text: item.path }),
        el('div', { class: 'sub', text: `${formatBytes(item.size)} · ${formatTime(item.updatedAt)}` })),
      el('button', {
        type: 'button', class: 'small ghost', text: 'Download', 'aria-label': `Download ${item.path}`,
        onclick: () => run('inbox', () => download(ws(`/inbox/${enc(item.id)}`), item.name)),
      })), 'Inbox is empty');
  }

  async function loadArtifacts() {
    const body = await api(ws('/artifacts'));
    fillList($('#artifacts-list'), body.items || [], (item) => el('li', { 'data-path': item.path },
      el('div', { class: 'main' },
        el('div', { class: 'name mono', text: item.path }),
        el('div', { class: 'sub', text: `${formatBytes(item.size)} · ${formatTime(item.updatedAt)}` })),
      el('button', {
        type: 'button', class: 'small ghost', text: 'Download', 'aria-label': `Download ${item.path}`,
        onclick: () => run('artifacts', () => download(ws(`/artifacts/${enc(item.id)}`), item.path.split('/').pop())),
      })), 'No artifacts');
  }

  async function loadAudit() {
    const body = await api(ws('/audit?limit=25'));
    const rows = (body.items || []).map((entry) => el('tr', {},
      el('td', { text: formatTime(entry.timestamp) }),
      el('td', { class: 'mono', text: entry.action }),
      el('td', { text: entry.summary }),
      el('td', { text: entry.actor ? `${entry.actor.type}/${entry.actor.scope}` : '' })));
    $('#audit-rows').replaceChildren(...(rows.length ? rows
      : [el('tr', {}, el('td', { colspan: 4, class: 'empty', text: 'No audit entries yet' }))]));
  }

  const workspacePanels = {
    skills: loadSkills,
    commands: loadCommands,
    plugins: loadPlugins,
    mcp: loadMcp,
    inbox: loadInbox,
    artifacts: loadArtifacts,
    audit: loadAudit,
  };
  const panels = {
    status: loadStatus,
    workspaces: loadWorkspaces,
    ...workspacePanels,
    approvals: loadApprovals,
    tokens: loadTokens,
  };

  function loadWorkspacePanels() {
    if (!state.workspaceId) return Promise.resolve();
    return Promise.all(Object.entries(workspacePanels).map(([name, load]) => run(name, load)));
  }

  function loadAll() {
    const global = ['status', 'workspaces', 'approvals', 'tokens'];
    return Promise.all([
      ...global.map((name) => run(name, panels[name])),
      loadWorkspacePanels(),
    ]);
  }

  // ---------------------------------------------------------------------------------------
  // Reload events: Server-Sent Events over fetch (so the bearer header can be sent), with
  // JSON polling of `?since=` as the fallback
  // ---------------------------------------------------------------------------------------

  // Which panel a reload reason refreshes.
  const reasonPanels = { skills: 'skills', commands: 'commands', plugins: 'plugins', mcp: 'mcp' };

  function setEventsMode(mode) {
    const pill = $('#events-mode');
    pill.textContent = mode;
    pill.classList.toggle('live', mode.startsWith('live'));
  }

  function showEvent(event) {
    if (typeof event.seq === 'number') state.since = Math.max(state.since, event.seq);
    const trigger = event.trigger || {};
    const what = [trigger.type, trigger.name, trigger.action].filter(Boolean).join(' ');
    const list = $('#events-list');
    const empty = list.querySelector('.empty');
    if (empty) empty.remove();
    list.prepend(el('li', { 'data-seq': event.seq },
      el('span', { class: 'seq mono', text: `#${event.seq}` }),
      el('strong', { text: event.reason }),
      what ? ` · ${what}` : '',
      ` · ${formatTime(event.timestamp)}`));
    while (list.children.length > MAX_EVENTS) list.lastChild.remove();
    const panel = reasonPanels[event.reason];
    if (panel) run(panel, panels[panel]);
    run('audit', loadAudit);
  }

  function stopEvents() {
    if (state.events) state.events.abort();
    state.events = null;
    setEventsMode('idle');
  }

  function startEvents() {
    stopEvents();
    if (!state.workspaceId) return;
    $('#events-list').replaceChildren(el('li', { class: 'empty', text: 'Waiting for reload events…' }));
    state.since = 0;
    const controller = new AbortController();
    state.events = controller;
    streamEvents(controller);
  }

  async function streamEvents(controller) {
    const { signal } = controller;
    try {
      const response = await api(ws(`/events?since=${state.since}`), {
        headers: { Accept: 'text/event-stream' }, raw: true, signal,
      });
      const type = response.headers.get('Content-Type') || '';
      if (!response.body || !type.includes('text/event-stream')) {
        // An older server answers the JSON poll even when asked for a stream.
        await response.body?.cancel();
        throw new ApiError(0, 'no_stream', 'Server did not stream events');
      }
      clearError('events');
      setEventsMode('live (SSE)');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (data) {
            try {
              showEvent(JSON.parse(data));
            } catch {
              // A frame that is not an event (keep-alive comment, garbage): skip it.
            }
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error.code !== 'no_stream') showError('events', error);
    }
    if (!signal.aborted) pollEvents(controller);
  }

  async function pollEvents(controller) {
    setEventsMode('polling');
    while (!controller.signal.aborted) {
      try {
        const body = await api(ws(`/events?since=${state.since}`), { signal: controller.signal });
        clearError('events');
        for (const event of body.items || []) showEvent(event);
        if (typeof body.cursor === 'number') state.since = Math.max(state.since, body.cursor);
      } catch (error) {
        if (controller.signal.aborted) return;
        showError('events', error);
      }
      await new Promise((resolve) => setTimeout(resolve, EVENT_POLL_MS));
    }
  }

  function startApprovalPolling() {
    clearInterval(state.approvalsTimer);
    state.approvalsTimer = setInterval(() => {
      // Only keep asking while the token is allowed to see approvals.
      const box = document.querySelector('[data-error="approvals"]');
      if (document.visibilityState === 'visible' && box.hidden) run('approvals', loadApprovals);
    }, APPROVAL_POLL_MS);
  }

  // ---------------------------------------------------------------------------------------
  // Forms
  // ---------------------------------------------------------------------------------------

  function onSubmit(selector, panel, handler) {
    const form = $(selector);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form, () => run(panel, () => handler(form, new FormData(form))));
    });
  }

  function wireForms() {
    $('#token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('#token-input');
      const token = input.value.trim();
      if (!token) return;
      localStorage.setItem(TOKEN_KEY, token);
      input.value = '';
      connect();
    });
    $('#token-forget').addEventListener('click', () => {
      localStorage.removeItem(TOKEN_KEY);
      state.token = null;
      stopEvents();
      clearInterval(state.approvalsTimer);
      $('#whoami').textContent = 'not connected';
      showBanner('Token forgotten. Paste a token above to connect again.');
    });
    $('#workspace-select').addEventListener('change', (event) => {
      state.workspaceId = event.target.value;
      run('status', loadStatus);
      run('workspaces', loadWorkspaces);
      loadWorkspacePanels();
      startEvents();
    });
    document.querySelectorAll('[data-refresh]').forEach((button) => {
      button.addEventListener('click', () => {
        const name = button.dataset.refresh;
        if (name === 'all') loadAll();
        else run(name, panels[name]);
      });
    });

    onSubmit('#skill-form', 'skills', async (form, data) => {
      const payload = { name: data.get('name').trim(), content: data.get('content') };
      const description = data.get('description').trim();
      if (description) payload.description = description;
      await api(ws('/skills'), { method: 'POST', json: payload });
      form.reset();
      await loadSkills();
    });
    onSubmit('#command-form', 'commands', async (form, data) => {
      const payload = { name: data.get('name').trim(), template: data.get('template') };
      const description = data.get('description').trim();
      if (description) payload.description = description;
      await api(ws('/commands'), { method: 'POST', json: payload });
      form.reset();
      await loadCommands();
    });
    onSubmit('#plugin-form', 'plugins', async (form, data) => {
      await api(ws('/plugins'), { method: 'POST', json: { spec: data.get('spec').trim() } });
      form.reset();
      await loadPlugins();
    });
    onSubmit('#mcp-form', 'mcp', async (form, data) => {
      await api(ws('/mcp'), {
        method: 'POST',
        json: { name: data.get('name').trim(), config: { type: 'remote', url: data.get('url').trim() } },
      });
      form.reset();
      await loadMcp();
    });
    onSubmit('#token-create-form', 'tokens', async (form, data) => {
      const payload = { scope: data.get('scope') };
      const label = data.get('label').trim();
      if (label) payload.label = label;
      const created = await api('/tokens', { method: 'POST', json: payload });
      const note = $('#token-created');
      note.replaceChildren('New ', el('strong', { text: created.scope }), ' token (shown once): ',
        el('code', { text: created.token }));
      note.hidden = false;
      form.reset();
      await loadTokens();
    });
    onSubmit('#inbox-form', 'inbox', async (form, data) => {
      const file = data.get('file');
      const upload = new FormData();
      upload.append('file', file, file.name);
      const path = data.get('path').trim();
      if (path) upload.append('path', path);
      const result = $('#inbox-result');
      result.textContent = `Uploading ${file.name}… (a host may have to approve it)`;
      result.hidden = false;
      try {
        const body = await api(ws('/inbox'), { method: 'POST', body: upload });
        result.textContent = `Uploaded ${body.path} (${formatBytes(body.bytes)})`;
      } catch (error) {
        result.hidden = true;
        throw error;
      }
      form.reset();
      await loadInbox();
      run('audit', loadAudit);
    });
  }

  // ---------------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------------

  async function connect() {
    state.token = localStorage.getItem(TOKEN_KEY);
    if (!state.token) {
      showBanner(['No token yet. Open this page as ', el('code', { text: '/ui#token=<token>' }),
        ' or paste a token above.']);
      return;
    }
    $('#token-input').placeholder = 'token saved in this browser';
    try {
      await loadWhoami();
      hideBanner();
    } catch (error) {
      showBanner(describe(error));
      return;
    }
    await run('workspaces', loadWorkspaces);
    await loadAll();
    startEvents();
    startApprovalPolling();
  }

  function boot() {
    takeTokenFromFragment();
    state.pinnedWorkspace = workspaceFromPath();
    wireForms();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
