package convenience

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mask hides the personal data in a text to be published: the names
// given (the citizen's own, in full), names introduced as such (我叫…,
// 姓名：…, 联系人…), named beside a relation (邻居王建国) or before a
// title (张建国主任), email addresses, every run of seven or more digits
// (mobile and landline numbers, ID card numbers with their final X, bank
// cards, QQ numbers) but a date written in digits (2026-12-07), numbers
// spelt digit by digit in Chinese (一三八…), vehicle plates (粤F·12345)
// and the numbers of addresses (12号, 3栋, 2单元, 501室, 3组, 人民路12,
// 幸福小区5-2-301). Each character hidden becomes one '*', so the text
// keeps its length; a mobile number keeps its first three and last four
// digits, another long number its first two, a name its first character.
// It hides more than it must rather than less: a date written as
// 20260105 is hidden too. docs/convenience.md says what it cannot see.
func mask(text string, names ...string) string {
	return maskText(text, names, nil)
}

// maskFor is mask of a text of the message whose citizen is c: their
// name, and their address wherever it is written in full.
func maskFor(text string, c contact) string {
	return maskText(text, []string{c.Name}, []string{c.Address})
}

func maskText(text string, names, addresses []string) string {
	// Invisible characters (zero-width spaces and joiners, soft hyphens)
	// would split a number or a name so that nothing below sees it.
	text = strings.Map(func(c rune) rune {
		if unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, text)
	// An address goes first, while its numbers are as written.
	for _, a := range addresses {
		text = maskAddress(text, a)
	}
	r := []rune(text)
	maskEmails(r)
	maskPlates(r)
	maskDigitRuns(r)
	maskChineseDigitRuns(r)
	maskHouseNumbers(r)
	maskStreetNumbers(r)
	maskIntroducedNames(r)
	maskRelatedNames(r)
	maskTitledNames(r)
	out := string(r)
	for _, name := range names {
		out = maskName(out, name)
	}
	return out
}

// minAddressRunes is the shortest address hidden wherever it is written:
// a shorter one (城关镇) names a place rather than a home.
const minAddressRunes = 4

// maskAddress hides every occurrence of address but its first
// character.
func maskAddress(text, address string) string {
	address = strings.TrimSpace(address)
	if utf8.RuneCountInString(address) < minAddressRunes || !utf8.ValidString(address) || strings.ContainsRune(address, '*') {
		return text
	}
	first, size := utf8.DecodeRuneInString(address)
	hidden := string(first) + strings.Repeat("*", utf8.RuneCountInString(address[size:]))
	return strings.ReplaceAll(text, address, hidden)
}

// maskName hides every occurrence of name but its first character,
// also when its characters are spaced out (王 小 明, 王-小-明): each
// character hidden, the separators kept.
func maskName(text, name string) string {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	// A name of valid UTF-8 matches valid text only at whole characters.
	if n < 2 || strings.ContainsRune(name, '*') || !utf8.ValidString(name) {
		return text
	}
	var pattern strings.Builder
	for i, c := range []rune(name) {
		if i > 0 {
			pattern.WriteString(`[` + regexp.QuoteMeta(digitSeparators) + `]?`)
		}
		pattern.WriteString(regexp.QuoteMeta(string(c)))
	}
	re := regexp.MustCompile(pattern.String())
	return re.ReplaceAllStringFunc(text, func(found string) string {
		r := []rune(found)
		for i := 1; i < len(r); i++ {
			if found == name || !strings.ContainsRune(digitSeparators, r[i]) {
				r[i] = '*'
			}
		}
		return string(r)
	})
}

// digitSeparators are what a citizen writes between the groups of a
// number (138-1234-5678, 138.1234.5678, 138 1234 5678) or the characters
// of a name spaced out.
const digitSeparators = "-－—–_./ 　·"

// isDigit is an ASCII or a full-width digit.
func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

// maskDigitRuns hides runs of seven or more digits, which may be broken
// by single dashes or spaces (138-1234-5678), with an ID card's final X.
func maskDigitRuns(r []rune) {
	for i := 0; i < len(r); {
		if !isDigit(r[i]) {
			i++
			continue
		}
		// A date begins a run only: within one (138-2026-12-07) its
		// digits are the number's.
		if n := dateAt(r, i); n > 0 {
			i += n
			continue
		}
		var pos []int
		j := i
		for j < len(r) {
			if isDigit(r[j]) {
				pos = append(pos, j)
				j++
				continue
			}
			if strings.ContainsRune(digitSeparators, r[j]) && j+1 < len(r) && isDigit(r[j+1]) {
				j++
				continue
			}
			break
		}
		if len(pos) == 17 && j < len(r) && (r[j] == 'X' || r[j] == 'x' || r[j] == 'Ｘ') {
			pos = append(pos, j)
			j++
		}
		if len(pos) >= 7 {
			keepFront, keepBack := 2, 0
			if len(pos) == 11 && (r[pos[0]] == '1' || r[pos[0]] == '１') {
				keepFront, keepBack = 3, 4
			}
			for k, p := range pos {
				if k >= keepFront && k < len(pos)-keepBack {
					r[p] = '*'
				}
			}
		}
		i = j
	}
}

// dateAt is the length of the date written in digits at r[i:], or 0:
// a year 1900 to 2099, a month and a day, separated by the same one of
// - / . (2026-12-07, 2026/12/7, 2026.12.07), and no digit after it. A
// date is no one's data: it stays, and what follows it is read apart
// (2026-12-07-13812345678 hides the number).
func dateAt(r []rune, i int) int {
	year, j := digitsAt(r, i, 4, 4)
	if j < 0 || year < 1900 || year > 2099 || j >= len(r) || !strings.ContainsRune("-/.", r[j]) {
		return 0
	}
	sep := r[j]
	month, k := digitsAt(r, j+1, 1, 2)
	if k < 0 || month < 1 || month > 12 || k >= len(r) || r[k] != sep {
		return 0
	}
	day, end := digitsAt(r, k+1, 1, 2)
	if end < 0 || day < 1 || day > 31 || end < len(r) && isDigit(r[end]) {
		return 0
	}
	return end - i
}

// digitsAt reads least to most digits at r[i:] as a number, answering
// it and the index after them, or -1 for fewer.
func digitsAt(r []rune, i, least, most int) (int, int) {
	n, j := 0, i
	for j < len(r) && j-i < most && isDigit(r[j]) {
		d := r[j] - '0'
		if r[j] >= '０' {
			d = r[j] - '０'
		}
		n = 10*n + int(d)
		j++
	}
	if j-i < least {
		return 0, -1
	}
	return n, j
}

// houseUnits are what follow the number of an address.
var houseUnits = []string{"号楼", "号院", "号", "栋", "幢", "单元", "室", "楼", "层", "弄", "组", "房"}

// chineseNumerals are the digits of numbers written in Chinese.
const chineseNumerals = "〇零一二三四五六七八九十百千两"

// maskHouseNumbers hides the number before an address's unit: 12号 →
// **号, 三栋 → *栋.
func maskHouseNumbers(r []rune) {
	for i := 0; i < len(r); i++ {
		if !isDigit(r[i]) && !strings.ContainsRune(chineseNumerals, r[i]) {
			continue
		}
		j := i
		for j < len(r) && (isDigit(r[j]) || strings.ContainsRune(chineseNumerals, r[j]) || r[j] == '-' && j+1 < len(r) && isDigit(r[j+1])) {
			j++
		}
		if followedByUnit(r[j:]) && (isDigit(r[i]) || j-i >= 1 && chineseOnly(r[i:j])) {
			for k := i; k < j; k++ {
				if r[k] != '-' {
					r[k] = '*'
				}
			}
		}
		i = j
	}
}

func chineseOnly(r []rune) bool {
	for _, c := range r {
		if !strings.ContainsRune(chineseNumerals, c) {
			return false
		}
	}
	return true
}

func followedByUnit(rest []rune) bool {
	for _, u := range houseUnits {
		if hasRunePrefix(rest, u) {
			return true
		}
	}
	return false
}

func hasRunePrefix(r []rune, prefix string) bool {
	i := 0
	for _, p := range prefix {
		if i >= len(r) || r[i] != p {
			return false
		}
		i++
	}
	return true
}

// streetWords are what the number of a building follows when its unit
// (号, 栋) is left out: 人民路12, 幸福小区5-2-301.
var streetWords = []string{"路", "街", "巷", "小区", "花园", "苑", "大厦", "公寓", "新村", "家园", "大院"}

// measureAfterNumber are what make a number after a street word a
// quantity rather than a building's: 沿路100米, 街上3个.
const measureAfterNumber = "米公里元个次天年月日时点分秒人户辆多余岁%％平度条路km"

// maskStreetNumbers hides the digits of a building's number after a
// street word, dashes between them kept (幸福小区*-*-***).
func maskStreetNumbers(r []rune) {
	for i := range r {
		start := -1
		for _, w := range streetWords {
			if hasRunePrefix(r[i:], w) {
				start = i + utf8.RuneCountInString(w)
				break
			}
		}
		if start < 0 || start >= len(r) || !isDigit(r[start]) {
			continue
		}
		end := start
		for end < len(r) && (isDigit(r[end]) || r[end] == '-' && end+1 < len(r) && isDigit(r[end+1])) {
			end++
		}
		if end < len(r) && strings.ContainsRune(measureAfterNumber, r[end]) {
			continue
		}
		for k := start; k < end; k++ {
			if r[k] != '-' {
				r[k] = '*'
			}
		}
	}
}

// nameIntroductions are what a name follows when a citizen gives it in
// the text.
var nameIntroductions = []string{"我叫", "名叫", "姓名", "联系人"}

// maskIntroducedNames hides the two to four Han characters after a name's
// introduction (and its colon), but the first.
func maskIntroducedNames(r []rune) {
	for i := 0; i < len(r); i++ {
		for _, intro := range nameIntroductions {
			if !hasRunePrefix(r[i:], intro) {
				continue
			}
			j := i + utf8.RuneCountInString(intro)
			for j < len(r) && (r[j] == ':' || r[j] == '：' || r[j] == ' ' || r[j] == '是') {
				j++
			}
			k := j
			for k < len(r) && k-j < 4 && unicode.Is(unicode.Han, r[k]) {
				k++
			}
			if k-j >= 2 {
				for m := j + 1; m < k; m++ {
					r[m] = '*'
				}
			}
			break
		}
	}
}

// surnames are the commonest Chinese family names, compound ones first.
// Those that are as often a preposition (于, 向) are left out: a name is
// sought after them only where a cue says one follows.
var surnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "令狐", "慕容", "皇甫", "司徒", "夏侯",
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余",
	"杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石",
	"廖", "贾", "夏", "韦", "付", "傅", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "阎", "段", "雷",
	"侯", "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴", "莫", "孔", "汤",
	"温", "欧", "易", "常", "乔", "赖", "文", "庞", "樊", "兰", "殷", "施", "洪", "邝", "甘", "植", "巫", "利", "古", "聂"}

// notInName are characters a given name is not read across: words that
// follow a name (说, 称, 的), and ranks that precede a title (副局长).
const notInName = "说称讲道在和与跟同及的是把被对向给也都等了着过就才要会将已反所从到为因以或还又并而家里们这那个副总老小大某*"

// surnameAt is the length of the surname at r[i:], or 0.
func surnameAt(r []rune, i int) int {
	for _, s := range surnames {
		if hasRunePrefix(r[i:], s) {
			return utf8.RuneCountInString(s)
		}
	}
	return 0
}

// givenName is the length of the given name, one or two Han characters,
// at r[i:], or 0.
func givenName(r []rune, i int) int {
	n := 0
	for i+n < len(r) && n < 2 && unicode.Is(unicode.Han, r[i+n]) && !strings.ContainsRune(notInName, r[i+n]) {
		n++
	}
	return n
}

// relations are words a third party's name follows: 邻居王建国,
// 村民李四.
var relations = []string{"邻居", "村民", "居民", "业主", "房东", "租户", "丈夫", "妻子", "老公", "老婆", "儿子", "女儿",
	"父亲", "母亲", "同事", "朋友", "患者", "病人", "工人", "司机", "对方", "当事人", "网格员"}

// maskRelatedNames hides the given name of a surname and one or two
// characters after a relation (and its colon): 邻居王建国说 → 邻居王**说.
func maskRelatedNames(r []rune) {
	for i := range r {
		for _, rel := range relations {
			if !hasRunePrefix(r[i:], rel) {
				continue
			}
			j := i + utf8.RuneCountInString(rel)
			for j < len(r) && (r[j] == ':' || r[j] == '：' || r[j] == ' ') {
				j++
			}
			if s := surnameAt(r, j); s > 0 {
				given := j + s
				n := givenName(r, given)
				for k := given; k < given+n; k++ {
					r[k] = '*'
				}
			}
			break
		}
	}
}

// titles are what follow a person's name where their office is said:
// 张建国主任, 李明医生.
var titles = []string{"书记", "主任", "局长", "科长", "所长", "站长", "院长", "校长", "村长", "镇长", "乡长", "县长", "组长",
	"队长", "经理", "老板", "老师", "医生", "大夫", "律师", "警官", "师傅", "先生", "女士", "同志", "阿姨"}

// maskTitledNames hides the given name between a surname and a title:
// 张建国主任 → 张**主任. A surname and a title alone (王主任) name no
// one in particular and stay.
func maskTitledNames(r []rune) {
	for i := range r {
		s := surnameAt(r, i)
		if s == 0 {
			continue
		}
		j := i + s
		for n := givenName(r, j); n > 0; n-- {
			if !slices.ContainsFunc(titles, func(t string) bool { return hasRunePrefix(r[j+n:], t) }) {
				continue
			}
			for k := j; k < j+n; k++ {
				r[k] = '*'
			}
			break
		}
	}
}

// maskEmails hides the part of an email address before the @.
func maskEmails(r []rune) {
	for i, c := range r {
		if c != '@' || i == 0 || i+1 >= len(r) || !emailDomainRune(r[i+1]) {
			continue
		}
		for k := i - 1; k >= 0 && emailLocalRune(r[k]); k-- {
			r[k] = '*'
		}
	}
}

func emailLocalRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._%+-", r))
}

func emailDomainRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

// chineseDigits are the digits a number is spelt in, digit by digit, in
// ordinary and in financial (大写) numerals.
const chineseDigits = "〇零一二三四五六七八九幺壹贰叁肆伍陆柒捌玖"

// maskChineseDigitRuns hides runs of seven or more digits spelt in
// Chinese, a phone number read out (一三八一二三四五六七八), but the first
// two.
func maskChineseDigitRuns(r []rune) {
	for i := 0; i < len(r); {
		// The digits, which single separators may break (一三八 一二三四).
		var pos []int
		j := i
		for j < len(r) {
			if strings.ContainsRune(chineseDigits, r[j]) {
				pos = append(pos, j)
				j++
				continue
			}
			if len(pos) > 0 && strings.ContainsRune(digitSeparators, r[j]) && j+1 < len(r) && strings.ContainsRune(chineseDigits, r[j+1]) {
				j++
				continue
			}
			break
		}
		if len(pos) >= 7 {
			for _, k := range pos[2:] {
				r[k] = '*'
			}
		}
		i = max(j, i+1)
	}
}

// plateProvinces are the first characters of the country's vehicle
// plates.
const plateProvinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// maskPlates hides the five or six letters and digits of a vehicle plate
// after its province and city letter: 粤F·12345 → 粤F·*****.
func maskPlates(r []rune) {
	for i := 0; i+1 < len(r); i++ {
		if !strings.ContainsRune(plateProvinces, r[i]) || !isUpper(r[i+1]) {
			continue
		}
		j := i + 2
		if j < len(r) && (r[j] == '·' || r[j] == '.' || r[j] == ' ' || r[j] == '-') {
			j++
		}
		k := j
		for k < len(r) && k-j < 6 && (isUpper(r[k]) || isDigit(r[k])) {
			k++
		}
		if k-j < 5 || k < len(r) && (isUpper(r[k]) || isDigit(r[k])) || !hasDigit(r[j:k]) {
			continue
		}
		for m := j; m < k; m++ {
			r[m] = '*'
		}
		i = k - 1
	}
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'Ａ' && r <= 'Ｚ' }

func hasDigit(r []rune) bool {
	for _, c := range r {
		if isDigit(c) {
			return true
		}
	}
	return false
}
