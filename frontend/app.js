// Suture dashboard: optional progressive enhancement. Every page works without this file;
// it only adds copy buttons to code blocks and submits the tenant switcher on change.
(function () {
  "use strict";

  function copy(text, button) {
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(function () {
      var old = button.textContent;
      button.textContent = "Copied";
      button.classList.add("is-done");
      setTimeout(function () {
        button.textContent = old;
        button.classList.remove("is-done");
      }, 1200);
    });
  }

  function makeButton(label) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy-btn";
    b.textContent = label;
    return b;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (navigator.clipboard) {
      document.querySelectorAll("pre[data-copyable]").forEach(function (pre) {
        var wrap = pre.parentElement;
        if (!wrap || !wrap.classList.contains("code-wrap")) return;
        var b = makeButton("Copy");
        b.addEventListener("click", function () { copy(pre.textContent, b); });
        wrap.appendChild(b);
      });
      document.querySelectorAll("[data-copy]").forEach(function (el) {
        var b = makeButton("Copy");
        b.classList.add("copy-inline");
        b.addEventListener("click", function () { copy(el.getAttribute("data-copy"), b); });
        el.insertAdjacentElement("afterend", b);
      });
    }

    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      if (!form) return;
      var button = form.querySelector("[data-autosubmit-button]");
      if (button) button.hidden = true;
      select.addEventListener("change", function () { form.submit(); });
    });
  });
})();
