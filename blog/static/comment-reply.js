/* Moves the reply form under the comment being answered, as WordPress's
   comment-reply.js does. Without this script the Reply links still work:
   they load ?replytocom=<id>#respond. */
(function () {
  "use strict";
  var respond = document.getElementById("respond");
  if (!respond) return;
  var parentField = document.getElementById("comment_parent");
  var cancel = document.getElementById("cancel-comment-reply-link");
  var titleText = document.getElementById("reply-title-text");
  var textarea = document.getElementById("comment");
  var message = document.getElementById("form-message");
  var defaultTitle = "Leave a Reply";
  var opener = null;
  var placeholder = null;

  function moveUnder(link) {
    var target = document.getElementById(link.getAttribute("data-belowelement"));
    if (!target) return false;
    if (!placeholder) {
      placeholder = document.createElement("div");
      placeholder.id = "wp-temp-form-div";
      placeholder.hidden = true;
      respond.parentNode.insertBefore(placeholder, respond);
    }
    target.parentNode.insertBefore(respond, target.nextSibling);
    parentField.value = link.getAttribute("data-commentid");
    titleText.textContent = link.getAttribute("data-replyto") || defaultTitle;
    cancel.hidden = false;
    opener = link;
    textarea.focus();
    return true;
  }

  // Back to a plain comment, keeping whatever was typed.
  function restore() {
    if (parentField.value === "0") return false;
    parentField.value = "0";
    titleText.textContent = defaultTitle;
    cancel.hidden = true;
    if (placeholder) {
      placeholder.parentNode.insertBefore(respond, placeholder);
      placeholder.parentNode.removeChild(placeholder);
      placeholder = null;
    }
    // A reply opened by the server (?replytocom, or a refused reply) has no opener.
    (opener || textarea).focus();
    opener = null;
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".comment-reply-link");
    if (link && moveUnder(link)) {
      event.preventDefault();
    } else if (event.target === cancel && restore()) {
      event.preventDefault();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && placeholder && respond.contains(document.activeElement)) restore();
  });
  // A refused form: bring its message into view and to the screen reader.
  if (message) window.addEventListener("load", function () { message.focus(); });
})();
