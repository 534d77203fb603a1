/* Makes the forms better with JavaScript; everything works without it (the server checks the
   same rules and draws the same error markup). No inline script: the CSP allows only 'self'. */
(function () {
  "use strict";

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = (Math.random() * 16) | 0;
      return (c === "x" ? r : (r & 0x3) | 0x8).toString(16);
    });
  }

  function msg(form, key) { return form.getAttribute("data-msg-" + key) || ""; }

  function clearErrors(form) {
    var summary = document.getElementById("error-summary");
    if (summary) summary.parentNode.removeChild(summary);
    form.querySelectorAll(".error-message").forEach(function (el) { el.parentNode.removeChild(el); });
    form.querySelectorAll(".field--error").forEach(function (el) { el.classList.remove("field--error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && !/-error$/.test(id);
      });
      if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
      else el.removeAttribute("aria-describedby");
    });
  }

  function showError(form, control, group, anchorId, text) {
    var p = document.createElement("p");
    p.className = "error-message";
    p.id = anchorId + "-error";
    var prefix = document.createElement("span");
    prefix.className = "error-prefix";
    prefix.textContent = msg(form, "prefix");
    p.appendChild(prefix);
    p.appendChild(document.createTextNode(" " + text));
    group.classList.add("field--error");
    var before = Array.prototype.find.call(group.children, function (child) {
      return child.matches("input, textarea, select, .choice");
    });
    group.insertBefore(p, before || null);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      var ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      ids.push(p.id);
      control.setAttribute("aria-describedby", ids.join(" "));
    }
  }

  function fieldProblem(form, el) {
    var value = el.value.trim();
    if (!value) return el.required ? msg(form, "required") : "";
    if (!el.checkValidity()) return el.getAttribute("data-error") || msg(form, "required");
    if (el.minLength > 0 && value.length < el.minLength) return el.getAttribute("data-error");
    return "";
  }

  function validate(form) {
    var errors = [];
    form.querySelectorAll("input[id^=field-]:not([type=radio]):not([type=checkbox]), textarea, select").forEach(function (el) {
      var problem = fieldProblem(form, el);
      if (problem) errors.push({ control: el, group: el.closest(".field"), id: el.id, text: problem });
    });
    var phone = form.querySelector("#field-phone");
    var email = form.querySelector("#field-email");
    if (phone && email) {
      var notify = form.querySelector("input[name=notify_by]:checked");
      var how = notify ? notify.value : "none";
      var hasPhone = phone.value.trim() !== "", hasEmail = email.value.trim() !== "";
      var taken = errors.some(function (e) { return e.control === phone || e.control === email; });
      if (!hasPhone && !hasEmail && !taken) {
        errors.push({ control: phone, group: phone.closest(".field"), id: phone.id, text: msg(form, "contact") });
      }
      var group = form.querySelector("#group-notify_by");
      if (how === "sms" && !hasPhone && hasEmail) {
        errors.push({ control: null, group: group, id: "field-notify_by", href: "field-notify_by-sms", text: msg(form, "notify-sms") });
      } else if (how === "email" && !hasEmail && hasPhone) {
        errors.push({ control: null, group: group, id: "field-notify_by", href: "field-notify_by-sms", text: msg(form, "notify-email") });
      }
      var consent = form.querySelector("#field-consent");
      if (how !== "none" && consent && !consent.checked) {
        errors.push({ control: consent, group: consent.closest(".field"), id: consent.id, text: msg(form, "consent") });
      }
    }
    return errors;
  }

  function summarise(form, errors) {
    var box = document.createElement("div");
    box.className = "error-summary";
    box.id = "error-summary";
    box.setAttribute("role", "alert");
    box.setAttribute("tabindex", "-1");
    box.setAttribute("aria-labelledby", "error-summary-title");
    var h = document.createElement("h2");
    h.id = "error-summary-title";
    h.textContent = msg(form, "summary");
    var intro = document.createElement("p");
    intro.textContent = msg(form, "summary-intro");
    var list = document.createElement("ul");
    errors.forEach(function (e) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "#" + (e.href || e.id);
      a.textContent = e.text;
      li.appendChild(a);
      list.appendChild(li);
    });
    box.appendChild(h);
    box.appendChild(intro);
    box.appendChild(list);
    var heading = document.querySelector("main h1");
    heading.parentNode.insertBefore(box, heading);
    var prefix = msg(form, "title-prefix");
    if (prefix && document.title.indexOf(prefix) !== 0) document.title = prefix + document.title;
    box.focus();
  }

  function enhance(form) {
    var id = form.querySelector(".js-submission-id");
    if (id && !id.value) id.value = uuid();

    form.querySelectorAll("textarea[maxlength]").forEach(function (area) {
      var max = parseInt(area.getAttribute("maxlength"), 10);
      var count = document.createElement("p");
      count.className = "char-count";
      count.id = area.id + "-count";
      count.setAttribute("aria-live", "polite");
      area.parentNode.appendChild(count);
      var update = function () { count.textContent = (max - area.value.length) + " " + msg(form, "chars-left"); };
      area.addEventListener("input", update);
      update();
    });

    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      if (form.getAttribute("data-sending") === "1") { event.preventDefault(); return; }
      clearErrors(form);
      var errors = validate(form);
      if (errors.length) {
        event.preventDefault();
        errors.forEach(function (e) { showError(form, e.control, e.group, e.id, e.text); });
        summarise(form, errors);
        return;
      }
      form.setAttribute("data-sending", "1");
      if (button) { button.setAttribute("aria-disabled", "true"); button.textContent = msg(form, "sending"); }
    });
  }

  document.querySelectorAll("form.js-validate").forEach(enhance);
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // Links in the error summary move focus to the field, not just scroll to it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a");
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (target) { event.preventDefault(); target.focus(); target.scrollIntoView({ block: "center" }); }
  });
})();
