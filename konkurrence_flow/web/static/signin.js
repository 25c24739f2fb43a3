// A one-time sign-in link carries its token after '#', which browsers never send to a server (so
// it is in no log). Put it into the form; the person signs in with the button.
(function () {
  var hash = window.location.hash.slice(1);
  if (/^kf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/.test(hash)) {
    document.getElementById("token").value = hash;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    document.querySelector("#signin button").focus();
  }
})();
