package classified

import (
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

func TestCheck(t *testing.T) {
	refused := []string{
		`{"title":"x","classification":"机密"}`,
		`{"doc":{"密级":"绝密★30年"}}`,
		`{"items":[{"Classification":" 秘密"}]}`,
		`{"secrecy_level":"\u673a\u5bc6"}`,
		`{"\u5bc6\u7ea7":"机密"}`,
	}
	for _, body := range refused {
		if errs.CodeOf(Check([]byte(body))) != CodeRefused {
			t.Errorf("%s was let in", body)
		}
	}
	allowed := []string{
		`{"title":"关于保守秘密的通知"}`,
		`{"classification":"公开"}`,
		`{"classification":"内部"}`,
		`{"note":"classification: 机密 is refused"}`,
		`not json`,
	}
	for _, body := range allowed {
		if err := Check([]byte(body)); err != nil {
			t.Errorf("%s refused: %v", body, err)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"classification":"机密"}`, `{"a":[{"密级":"秘密"}]}`, `{"x":1}`, `[`, `"\u5bc6"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := Check(body)
		if err != nil && errs.CodeOf(err) != CodeRefused {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
