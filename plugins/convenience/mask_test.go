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
		{"电话一三八一二三四五六七八", "", "电话一三*********"},
		{"车牌粤F12345被剐蹭", "", "车牌粤F*****被剐蹭"},
		{"车牌粤F·D12345", "", "车牌粤F·******"},
		// However the groups of a number are separated, or a name
		// spaced out, or split by invisible characters.
		{"电话138.1234.5678请回电", "", "电话138.****.5678请回电"},
		{"电话138—1234—5678", "", "电话138—****—5678"},
		{"电话138_1234_5678、138/1234/5678", "", "电话138_****_5678、138/****/5678"},
		{"电话138\u200b1234\u200b5678", "", "电话138****5678"},
		{"电话壹叁捌壹贰叁肆伍陆柒捌", "", "电话壹叁*********"},
		{"电话一三八 一二三四 五六七八", "", "电话一三* **** ****"},
		{"我是王 小 明，王\u200b小明", "王小明", "我是王 * *，王**"},
		{"Li  Lei", "Li Lei", "L*  ***"},
		// What is not personal stays: short numbers, hotlines, amounts.
		{"请拨打12345热线，补贴500元，2026年6月", "", "请拨打12345热线，补贴500元，2026年6月"},
		{"商业秘密保护", "", "商业秘密保护"},
		{"一二三四五六月份", "", "一二三四五六月份"},
		{"粤ICP备案", "", "粤ICP备案"},
		// Dates written in digits stay; what follows one is read apart.
		{"2026-12-07、2026/12/7、2026.12.07 10:30、2026年12月7日", "", "2026-12-07、2026/12/7、2026.12.07 10:30、2026年12月7日"},
		{"2026-12-07—2026-12-10", "", "2026-12-07—2026-12-10"},
		{"2026-12-07-13812345678", "", "2026-12-07-138****5678"},
		{"0751-2026-12-07", "", "07**-****-**-**"},
		{"2026-13-07", "", "20**-**-**"},
		{"20260105", "", "20******"},
		// Buildings' numbers without their unit, after a street word;
		// a quantity after one stays.
		{"幸福小区5-2-301、人民路12、和平村3组", "", "幸福小区*-*-***、人民路**、和平村*组"},
		{"沿路100米，街上3个摊位", "", "沿路100米，街上3个摊位"},
		// A third party named beside a relation or before a title.
		{"邻居王建国说，村民：李四反映", "", "邻居王**说，村民：李*反映"},
		{"张建国主任和李明医生", "", "张**主任和李*医生"},
		{"欧阳明日书记", "", "欧阳**书记"},
		// A surname and a title alone, a rank, words after a relation,
		// and names already hidden stay.
		{"王主任、王副局长、邻居家的狗、业主委员会、村民小组、李某某说", "", "王主任、王副局长、邻居家的狗、业主委员会、村民小组、李某某说"},
		// The limits docs/convenience.md owns to: a name without a cue
		// stays, a cue over-reaches now and then, a date in another
		// order is a number.
		{"王建国说，找了张伟", "", "王建国说，找了张伟"},
		{"方案经理，丈夫高兴地", "", "方*经理，丈夫高**"},
		{"07/12/2026", "", "07/**/****"},
	}
	for _, c := range cases {
		if got := mask(c.in, c.name); got != c.want {
			t.Errorf("mask(%q, %q) = %q, want %q", c.in, c.name, got, c.want)
		}
	}
}

// The citizen's address is hidden wherever it is written in full, its
// numbers too; a short one names a place and stays.
func TestMaskForHidesTheCitizensAddress(t *testing.T) {
	cases := []struct{ in, address, want string }{
		{"我家人民路12号3栋门口的路灯坏了", "人民路12号3栋", "我家人*******门口的路灯坏了"},
		{"王小明住在城关镇", "城关镇", "王**住在城关镇"},
	}
	for _, c := range cases {
		if got := maskFor(c.in, contact{Name: "王小明", Address: c.address}); got != c.want {
			t.Errorf("maskFor(%q) with address %q = %q, want %q", c.in, c.address, got, c.want)
		}
	}
}
