package store

import (
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	got, err := splitStatements("-- comment\nCREATE TABLE a (\n  id INT\n);\n\nINSERT INTO a VALUES (1);  \n")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "CREATE TABLE a (\nid INT\n)" || got[1] != "INSERT INTO a VALUES (1)" {
		t.Fatalf("got %q", got)
	}
}

// FuzzSplitStatements: whatever the input, the splitter either refuses it
// or returns statements that are non-empty and carry no comment lines.
func FuzzSplitStatements(f *testing.F) {
	f.Add("CREATE TABLE a (id INT);\n")
	f.Add("-- x\nSELECT 1;\nSELECT 2")
	f.Add(";\n;\n")
	f.Fuzz(func(t *testing.T, body string) {
		stmts, err := splitStatements(body)
		if err != nil {
			return
		}
		if len(stmts) == 0 {
			t.Fatal("no statements and no error")
		}
		for _, s := range stmts {
			if strings.TrimSpace(s) == "" {
				t.Fatal("empty statement")
			}
			for _, line := range strings.Split(s, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "--") {
					t.Fatalf("comment line kept in %q", s)
				}
			}
		}
	})
}
