// Progressive enhancement only: every page works without this file. It adds copy buttons, shows
// the fields of the chosen grant type, a "Select all scopes" button, a busy state on submitted
// forms (the loading state: requests to GitHub take a few seconds), and re-announces the page's
// confirmation so screen readers hear it after a redirect.
'use strict';

(function () {
  const live = document.getElementById('live');

  function announce(text) {
    if (live === null) return;
    live.textContent = '';
    // A change after a tick is what assistive technology announces.
    setTimeout(function () { live.textContent = text; }, 50);
  }

  // A confirmation rendered with the page is moved into the live region once, to be heard.
  if (live !== null && live.textContent.trim() !== '') {
    const message = live.textContent.trim();
    const banner = live.firstElementChild;
    live.textContent = '';
    setTimeout(function () {
      if (banner !== null) live.appendChild(banner);
      else live.textContent = message;
    }, 50);
  }

  // Copy buttons: hidden without JavaScript, since they could not work.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    const target = document.getElementById(button.getAttribute('data-copy'));
    if (target === null || navigator.clipboard === undefined) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () { button.textContent = 'Copied'; announce('Copied to the clipboard.'); },
        function () { announce('Copying failed: select the text and copy it.'); },
      );
    });
  });

  // Select all scopes.
  document.querySelectorAll('[data-select-all]').forEach(function (button) {
    const name = button.getAttribute('data-select-all');
    button.hidden = false;
    button.addEventListener('click', function () {
      button.closest('form').querySelectorAll('input[name="' + name + '"]').forEach(function (box) { box.checked = true; });
      announce('All scopes selected.');
    });
  });

  // Generate Access Token: only the fields of the chosen grant type.
  document.querySelectorAll('[data-grant-form]').forEach(function (form) {
    function sync() {
      const chosen = form.querySelector('input[name="grant_type"]:checked');
      const grant = chosen === null ? '' : chosen.value;
      form.querySelectorAll('[data-grant]').forEach(function (part) {
        part.hidden = part.getAttribute('data-grant').split(' ').indexOf(grant) === -1;
      });
    }
    form.querySelectorAll('input[name="grant_type"]').forEach(function (radio) { radio.addEventListener('change', sync); });
    sync();
  });

  // Submitting: say so, and do not submit twice.
  document.querySelectorAll('form[method="post"]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (form.getAttribute('data-submitting') === 'true') { event.preventDefault(); return; }
      form.setAttribute('data-submitting', 'true');
      const button = form.querySelector('button[type="submit"]');
      if (button !== null) {
        button.setAttribute('data-label', button.textContent);
        button.setAttribute('aria-busy', 'true');
        button.textContent = 'Working…';
      }
      announce('Working…');
    });
  });

  // Back to a page from the browser's cache: its forms are ready again.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    document.querySelectorAll('form[data-submitting]').forEach(function (form) {
      form.removeAttribute('data-submitting');
      const button = form.querySelector('button[aria-busy]');
      if (button !== null) {
        button.removeAttribute('aria-busy');
        button.textContent = button.getAttribute('data-label');
      }
    });
  });

  // A form with errors: focus the summary so the errors are read first.
  const summary = document.getElementById('error-summary');
  if (summary !== null) summary.focus();
})();
