// Bank search on the bank choice (progressive enhancement: the page works without it).
(function () {
  var input = document.getElementById('bank-search');
  var list = document.getElementById('bank-list');
  var all = document.getElementById('show-all');
  if (!input || !list) return;
  function filter(q) {
    q = q.trim().toLowerCase();
    Array.prototype.forEach.call(list.children, function (li) {
      li.hidden = q !== '' && li.textContent.toLowerCase().indexOf(q) < 0;
    });
  }
  input.addEventListener('input', function () { filter(input.value); });
  if (all) all.addEventListener('click', function () { input.value = ''; filter(''); });
})();
