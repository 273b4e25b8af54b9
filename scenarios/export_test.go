package scenarios

// ThenKeysTable exposes thenKeysTable to the external tests.
var ThenKeysTable = thenKeysTable
