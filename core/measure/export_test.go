package measure

// ReadSQL is the statement Read runs for q, for the test that explains it.
func ReadSQL(q Query) (string, []any) { return readSQL(q) }
