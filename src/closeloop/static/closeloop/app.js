// Small behaviours every page shares, bound by data attributes instead of inline handlers, so the
// Content-Security-Policy allows scripts from our own files only (settings.SECURE_CSP).
// Listeners sit on the document, so content HTMX swaps in later behaves the same.
//   data-confirm="Question?"      on a form (asked on submit) or a button/link (asked on click); a submit
//                                 button asks only once its form is one the browser would send (a reason
//                                 left empty is said first, the question after)
//   data-needs="owner reason"     on a submit button of a form whose buttons do different things (a list's
//                                 bulk actions; each marked formnovalidate): the fields this button needs
//   data-needs-ticked="leads"     on such a button: at least one box of that name ticked, else the first
//                                 box says data-needs-ticked-message
//   data-enter-clicks="id"        a field where Enter clicks that button, not the form's first one
//   data-select-all="name"        a checkbox that ticks every input[name=name]
//   data-close-dialog             a link that closes the dialog around it instead of leaving the page
//   data-select-on-focus          a field whose text is selected when it gets focus (embed codes)
//   data-history-back             a link that goes back a page (keeping what was typed there) when it can
//   data-templates='{"call": …}'  a textarea that follows its form's kind select with that kind's skeleton
//                                 (follow-up templates) while its text is empty or an untouched skeleton
//   data-options-any="不限"      a dropdown of checkboxes (a multiple-choice filter) whose summary's
//                                 data-options-label says what is ticked, or this word when nothing is
//   a link to #id of a folded <details> (or of something inside one) unfolds it
(() => {
  "use strict";

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);

  // Whether a submit button's form holds what the button needs, saying what is missing where it is missing.
  const ready = (button) => {
    const form = button.form;
    if (!form || button.type !== "submit") return true;
    if (button.dataset.needsTicked) {
      const boxes = [...form.querySelectorAll(`input[name="${CSS.escape(button.dataset.needsTicked)}"]`)];
      boxes.forEach((box) => box.setCustomValidity(""));
      if (boxes.length && !boxes.some((box) => box.checked)) {
        boxes[0].setCustomValidity(button.dataset.needsTickedMessage || "");
        boxes[0].reportValidity();
        return false;
      }
    }
    let fields = button.formNoValidate || form.noValidate ? [] : [form];
    if (button.dataset.needs) {
      fields = button.dataset.needs.split(/\s+/).map((name) => form.elements.namedItem(name)).filter(Boolean);
    }
    return fields.every((field) => field.reportValidity());
  };

  document.addEventListener("click", (event) => {
    const checked = event.target.closest("button[data-confirm], input[data-confirm], button[data-needs], "
                                         + "button[data-needs-ticked]");
    if (checked && !ready(checked)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    const asking = event.target.closest("button[data-confirm], a[data-confirm], input[data-confirm]");
    if (asking && !window.confirm(asking.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    const back = event.target.closest("a[data-history-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
      return;
    }
    const closer = event.target.closest("[data-close-dialog]");
    const dialog = closer && closer.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  }, true);

  document.addEventListener("keydown", (event) => {
    const field = event.key === "Enter" && event.target.closest("input[data-enter-clicks]");
    const button = field && document.getElementById(field.dataset.enterClicks);
    if (!button) return;
    event.preventDefault();
    button.click();
  });

  document.addEventListener("change", (event) => {
    const all = event.target.closest("input[data-select-all]");
    if (!all) return;
    document.querySelectorAll(`input[name="${CSS.escape(all.dataset.selectAll)}"]`).forEach((box) => {
      box.checked = all.checked;
    });
  });

  document.addEventListener("change", (event) => {
    const menu = event.target.closest("details[data-options-any]");
    const summary = menu && menu.querySelector("summary[data-options-label]");
    if (!summary) return;
    const ticked = [...menu.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
    summary.textContent = `${summary.dataset.optionsLabel}: ${ticked.length ? ticked.join("、") : menu.dataset.optionsAny}`;
  });

  document.addEventListener("change", (event) => {
    const kind = event.target.closest('select[name="kind"]');
    const area = kind && kind.form && kind.form.querySelector("textarea[data-templates]");
    if (!area) return;
    const skeletons = JSON.parse(area.dataset.templates);
    const text = area.value.trim();
    if (text && !Object.values(skeletons).some((skeleton) => skeleton.trim() === text)) return;
    area.value = skeletons[kind.value] || "";
  });

  // A link to a folded section (the radar's "Log a follow-up" to #log-follow-up) unfolds it and the
  // sections around it, then shows it: the browser scrolled to the folded summary and stopped there.
  const unfold = () => {
    const target = window.location.hash.length > 1 && document.getElementById(decodeURIComponent(
      window.location.hash.slice(1)));
    if (!target) return;
    let folded = false;
    for (let node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) {
        node.open = true;
        folded = true;
      }
    }
    if (folded) target.scrollIntoView({block: "start"});
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", unfold);
  else unfold();
  window.addEventListener("hashchange", unfold);

  document.addEventListener("focusin", (event) => {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });
})();
