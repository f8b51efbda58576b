package census

// FactsSQL and FactsArgs are the census's read, for the benchmark's
// baseline that runs it by hand.
var (
	FactsSQL  = factsSQL
	FactsArgs = factsArgs
)
