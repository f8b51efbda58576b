package measure

// ReadSQL is the statement Read runs for q, for the test that explains it.
func ReadSQL(q Query) (string, []any) { return readSQL(q) }

// AppendUnitValues is the parser of readSQL's lists, for its fuzz target.
func AppendUnitValues(figures []Figure, f Figure, list []byte) ([]Figure, error) {
	return appendUnitValues(figures, f, list)
}

// FoldBatch is one transaction's work of Fold, for the test that
// interrupts it.
var FoldBatch = foldBatchIn
