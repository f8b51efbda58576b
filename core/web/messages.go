package web

// catalogue is every text the console shows, in both its languages: the
// one place a page's words are written. TestEveryMessageHasBothLanguages
// holds it complete; TestEveryTemplateKeyIsInTheCatalogue holds the
// templates to it.
func catalogue() map[string]Label {
	return map[string]Label{
		"app.name":   {"CountyCloud 运维控制台", "CountyCloud operations console"},
		"nav.main":   {"主导航", "Main navigation"},
		"nav.lang":   {"English", "中文"},
		"nav.logout": {"退出登录", "Log out"},
		"nav.user":   {"当前用户：%s", "Signed in as %s"},
		"list.sep":   {"、", ", "},

		"login.title":         {"运维人员登录", "Operator login"},
		"login.name":          {"登录名", "Login name"},
		"login.password":      {"密码", "Password"},
		"login.submit":        {"登录", "Log in"},
		"login.failed":        {"登录名或密码错误。", "Wrong login name or password."},
		"login.missing":       {"请填写登录名和密码。", "Enter your login name and password."},
		"login.wait":          {"失败次数过多，请 %s后再试。", "Too many failed logins; try again in %s."},
		"login.required":      {"请先登录。", "Log in first."},
		"login.session_ended": {"会话已结束，请重新登录。", "Your session has ended; log in again."},
		"login.logged_out":    {"已退出登录。", "You have logged out."},

		"error.title":           {"无法显示此页面", "This page cannot be shown"},
		"error.forbidden":       {"此页面仅供省级运维人员使用。", "This page is for the province's operators only."},
		"error.password_change": {"此密码由管理员发放，须先修改：在命令行运行 countycloud login 加您的登录名，设置自己的密码后重新登录。", "This password was handed out by an administrator and must be changed first: run countycloud login with your login name to choose your own, then log in again."},
		"error.csrf":            {"表单已失效（缺少或不符的校验码），请返回页面重新提交。", "This form has expired (its check code is missing or wrong); go back and submit it again."},
		"error.too_many":        {"请求过多，请 %s后再试。", "Too many requests; try again in %s."},
		"error.unknown_city":    {"没有代码为 %s 的城市。", "There is no city with the code %s."},
		"error.unknown_phase":   {"没有代码为 %s 的推广阶段。", "There is no rollout phase with the code %s."},
		"error.invalid":         {"请求无效。", "This request is not valid."},
		"error.unavailable":     {"服务暂时不可用，请稍后再试。", "The service is unavailable for now; try again shortly."},
		"error.internal":        {"内部错误。报告问题时请注明请求编号 %s。", "Internal error. Quote request id %s when reporting it."},
		"error.back":            {"返回推广概览", "Back to the rollout overview"},

		"rollout.title":              {"全省推广概览", "Provincial rollout overview"},
		"rollout.filter":             {"筛选", "Filter"},
		"rollout.filter.city":        {"城市", "City"},
		"rollout.filter.phase":       {"阶段", "Phase"},
		"rollout.filter.all":         {"全部", "All"},
		"rollout.filter.apply":       {"筛选", "Apply"},
		"rollout.col.county":         {"县（市、区）", "County"},
		"rollout.col.city":           {"所属城市", "City"},
		"rollout.col.phase":          {"阶段", "Phase"},
		"rollout.col.days":           {"本阶段天数", "Days in phase"},
		"rollout.col.gate":           {"门槛进度", "Gate progress"},
		"rollout.col.blockers":       {"未通过的检查", "Blockers"},
		"rollout.col.figures":        {"关键指标", "Key figures"},
		"rollout.days":               {"%d 天", "%d"},
		"rollout.gate":               {"%d / %d 项通过", "%d of %d checks passed"},
		"rollout.blocker.units":      {"尚缺：%s", "Still missing: %s"},
		"rollout.blocker.units_more": {"尚缺：%s，另有 %d 个单位", "Still missing: %s, and %d more"},
		"rollout.no_blockers":        {"无", "None"},
		"rollout.count":              {"共 %d 个县（市、区）", "Counties: %d"},
		"rollout.none_match":         {"没有符合条件的县（市、区）。", "No county matches."},
		"rollout.computed":           {"汇总数据计算于 %s（%s前）", "Figures computed at %s (%s ago)"},
		"rollout.stale":              {"数据已过时：更新汇总的后台作业可能滞后。", "These figures are stale: the background job that updates them may be behind."},
		"rollout.never":              {"汇总数据尚未计算。", "The figures have not been computed yet."},
		"rollout.unavailable":        {"推广数据尚未接入：本服务器还没有提供推广概览的模块。", "No rollout data yet: nothing on this server provides the rollout overview."},

		"age.moment":  {"不到 1 分钟", "under a minute"},
		"age.minutes": {"%d 分钟", "%d min"},
		"age.hours":   {"%d 小时", "%d h"},
		"age.days":    {"%d 天", "%d days"},
		"age.seconds": {"%d 秒", "%d s"},
	}
}
