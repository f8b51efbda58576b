package convenience

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// mask hides the personal data in a text to be published: the names
// given (the citizen's own, in full), names introduced as such (我叫…,
// 姓名：…, 联系人…), email addresses, every run of seven or more digits
// (mobile and landline numbers, ID card numbers with their final X, bank
// cards, QQ numbers), numbers spelt digit by digit in Chinese (一三八…),
// vehicle plates (粤F·12345) and the numbers of addresses (12号, 3栋,
// 2单元, 501室). Each character hidden becomes one '*', so the text keeps its
// length; a mobile number keeps its first three and last four digits,
// another long number its first two, a name its first character. It
// hides more than it must rather than less: a date written as 20260105
// is hidden too.
func mask(text string, names ...string) string {
	// Invisible characters (zero-width spaces and joiners, soft hyphens)
	// would split a number or a name so that nothing below sees it.
	text = strings.Map(func(c rune) rune {
		if unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, text)
	r := []rune(text)
	maskEmails(r)
	maskPlates(r)
	maskDigitRuns(r)
	maskChineseDigitRuns(r)
	maskHouseNumbers(r)
	maskIntroducedNames(r)
	out := string(r)
	for _, name := range names {
		out = maskName(out, name)
	}
	return out
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
