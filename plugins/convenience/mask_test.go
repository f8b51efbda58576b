package convenience

import "testing"

// What a published text shows of personal data, case by case.
func TestMaskHidesPersonalData(t *testing.T) {
	cases := []struct{ in, name, want string }{
		{"电话13812345678", "", "电话138****5678"},
		{"电话138-1234-5678。", "", "电话138-****-5678。"},
		{"手机 +86 13812345678", "", "手机 +86 ***********"},
		{"座机0751-2812345", "", "座机07**-*******"},
		{"身份证440229199001011234", "", "身份证44****************"},
		{"身份证44022919900101123x号码", "", "身份证44****************号码"},
		{"全角１３８１２３４５６７８", "", "全角１３８****５６７８"},
		{"邮箱wang.xm@example.cn", "", "邮箱*******@example.cn"},
		{"住人民路12号3栋2单元501室", "", "住人民路**号*栋*单元***室"},
		{"住三号楼二单元", "", "住*号楼*单元"},
		{"我叫王小明，今年", "", "我叫王**，今年"},
		{"姓名：李四", "", "姓名：李*"},
		{"王小明反映王小明的问题", "王小明", "王**反映王**的问题"},
		{"Li Lei asked", "Li Lei", "L***** asked"},
		// What is not personal stays: short numbers, hotlines, amounts.
		{"请拨打12345热线，补贴500元，2026年6月", "", "请拨打12345热线，补贴500元，2026年6月"},
		{"商业秘密保护", "", "商业秘密保护"},
	}
	for _, c := range cases {
		if got := mask(c.in, c.name); got != c.want {
			t.Errorf("mask(%q, %q) = %q, want %q", c.in, c.name, got, c.want)
		}
	}
}
