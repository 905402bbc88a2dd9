"""The console's words and number formats, in Simplified Chinese and English.

Every label the console shows goes through ``Words`` so both languages stay complete;
the hall's own words are the supervisors' (排队, 窗口, 黄牌/红牌 …), one term per thing:
黄牌/红牌 only for cards (case deadlines and added materials, seed 001), 预警/紧急预警 for
every other alert, 超时 for cases only, 承诺时限 for the promised working days,
视为同意受理 for the 10-minute rule (seed 002), 来回跑 for a second trip. An alert is
未处置 until someone takes it and 销号 when settled; a silence is 暂停提醒 (the alert stays
open); the hall's time is 大厅时间; a feed that sends nothing is 无数据; the view frozen
by ``p`` is 冻结 (暂停 is a window's state). Rule and state names come from
``alerts.names``, the table the shift report and the day report use too.

In Chinese, halls, zones, items and departments go by the display names of the config
(or the demo's own): ``Words.names``, from the view; in English by their ids. Durations
are shown as a supervisor reads them: ``4:05`` (minutes:seconds) under an hour, ``1h05``
beyond; hall clock times in hall-local time (China Standard Time).

Imports: rich (cell widths), alerts.names, feeds.hallclock, runtime.view, the
standard library.
"""

from __future__ import annotations

import locale
import os
import re
from typing import Final, Literal

from rich.cells import cell_len

from alerts.names import NO_NAMES, RULE_NAMES, STATE_NAMES, Names
from feeds.hallclock import local_datetime, service_day
from runtime.view import AlertView, View

Lang = Literal["zh", "en"]

_WORDS: Final[dict[str, tuple[str, str]]] = {
    # key: (zh, en)
    "waiting": ("排队", "waiting"),
    "served": ("已办", "served"),
    "issued": ("取号", "issued"),
    "mean_wait": ("平均等候", "mean wait"),
    "p90_wait": ("90%等候", "p90 wait"),
    "longest": ("最长等候", "longest"),
    "windows_open": ("开窗", "open"),
    "windows": ("窗口", "windows"),
    "zone": ("板块", "zone"),
    "priority": ("绿色通道", "priority"),
    "abandoned": ("过号/离开", "abandoned"),
    "expected": ("预计等候", "expected"),
    "needed": ("需开窗", "needed"),
    "curve": ("今日排队曲线", "waiting today"),
    "alerts": ("预警", "alerts"),
    "no_alerts": ("无预警", "no active alerts"),
    "severity": ("类别", "severity"),
    "level": ("督办", "escalated"),
    "department": ("承办部门", "department"),
    "supervision": ("效能监督", "supervision"),
    "rule": ("规则", "rule"),
    "since": ("起始", "since"),
    "what": ("内容", "what"),
    "feeds": ("数据源", "feeds"),
    "connected": ("已连接", "connected"),
    "disconnected": ("已断开", "disconnected"),
    "events": ("事件", "events"),
    "rejected": ("拒收", "rejected"),
    "gaps": ("缺失", "gaps"),
    "no_halls": ("等待数据源…", "waiting for the feed…"),
    "hall_clock": ("大厅时间", "hall clock"),
    "paused_view": ("画面已冻结", "view paused"),
    "arrived_meanwhile": ("期间新到事件", "events arrived meanwhile"),
    "open": ("开放", "open"),
    "paused": ("暂停", "paused"),
    "red": ("红牌", "red card"),
    "urgent": ("紧急预警", "urgent"),
    "notice": ("预警", "warning"),
    "closed": ("关闭", "closed"),
    "yellow": ("黄牌", "yellow card"),
    "complaint": ("投诉", "complaint"),
    "clock_runs": ("不停止计时", "clock runs"),
    "help_title": ("按键", "Keys"),
    "key_quit": ("退出", "quit"),
    "key_help": ("显示按键", "show the keys"),
    "key_next_hall": ("下一个大厅", "next hall"),
    "key_prev_hall": ("上一个大厅", "previous hall"),
    "key_hall_n": ("第 N 个大厅", "hall number N"),
    "key_province": ("全省一览:按地市、区县汇总", "the province: its halls by city and county"),
    "f_province": ("全省", "province"),
    "key_open_place": (
        "展开/收起地市、区县;在大厅上:打开该大厅",
        "open or close a city, a county; on a hall: open it",
    ),
    "key_pause": ("冻结/恢复画面(数据照常接收)", "pause / resume the view (ingest goes on)"),
    "key_lang": ("切换中文/English", "switch 中文/English"),
    "close_help": ("按 Esc 或 ? 关闭", "Esc or ? closes"),
    "hall": ("大厅", "hall"),
    "day": ("服务日", "day"),
    "staff": ("人员", "staff"),
    "tickets": ("号", "tickets"),
    "called": ("叫号未到", "called"),
    "serving": ("办理中", "serving"),
    "window": ("窗口", "window"),
    "state": ("状态", "state"),
    "in_state": ("持续", "for"),
    "ticket": ("号码", "ticket"),
    "last_hour": ("近1小时", "last hour"),
    "today": ("今日", "today"),
    "mean_service": ("平均办理", "mean service"),
    "p90_service": ("90%办理", "p90 service"),
    "utilization": ("利用率", "busy"),
    "idle_waiting": ("有人等时空闲", "idle while queue"),
    "rating": ("评价均分", "rating"),
    "bad": ("差评", "bad"),
    "issued_at": ("取号时间", "issued"),
    "wait": ("已等候", "wait"),
    "case": ("办件", "case"),
    "item": ("事项", "item"),
    "dept": ("部门", "dept"),
    "promised": ("承诺时限", "days"),
    "accepted_at": ("受理", "accepted"),
    "deadline": ("到期", "deadline"),
    "card": ("牌", "card"),
    "deemed": ("视为同意受理", "deemed"),
    "channel": ("渠道", "channel"),
    "received": ("收到", "received"),
    "age": ("已过", "age"),
    "feed": ("数据源", "feed"),
    "last_seq": ("最新序号", "last seq"),
    "lag": ("无数据", "silent"),
    "connects": ("连接次数", "connects"),
    "due": ("整改期限", "due"),
    "rating_channel": ("好差评", "rating"),
    "seq_restarts": ("序号重启", "seq restarts"),
    "delivery_lag": ("送达延迟", "delivery lag"),
    "last_error": ("最近错误", "last error"),
    "halls": ("大厅", "halls"),
    "screen_city": ("全市总览", "city overview"),
    "screen_overview": ("大厅总览", "hall overview"),
    "screen_windows": ("窗口", "windows"),
    "screen_queue": ("排队", "queue"),
    "screen_alerts": ("预警", "alerts"),
    "screen_cases": ("办件", "cases"),
    "screen_complaints": ("投诉台账", "complaints"),
    "screen_feeds": ("数据源", "feeds"),
    "key_filter": ("筛选", "filter"),
    "key_sort": ("排序:选一列(再选同一列则倒序)", "sort: pick a column (again: reverse)"),
    "key_sort_reverse": ("倒序", "reverse the sort"),
    "key_enter": (
        "打开所选:大厅,或预警的全文与记录",
        "open: a hall, or an alert's text and timeline",
    ),
    "key_escape": ("关闭筛选/弹窗", "close the filter or dialog"),
    "key_palette": ("命令面板", "command palette"),
    "screen_duty": ("值班", "duty"),
    "screen_board": ("大屏看板", "big-screen board"),
    "key_ack": ("确认预警", "acknowledge"),
    "key_resolve": ("销号(需说明)", "resolve with a note"),
    "key_silence": ("暂停提醒", "silence"),
    "key_timeline": ("预警记录", "timeline"),
    "key_handover": ("写交接班报告", "write the handover"),
    "key_accept": ("接班确认", "accept the handover"),
    "note_required": (
        "说明(必填),回车确认,Esc取消",
        "note (required), Enter to save, Esc to cancel",
    ),
    "note_optional": (
        "说明(可选),回车确认,Esc取消",
        "note (optional), Enter to save, Esc to cancel",
    ),
    "note_missing": ("请填写说明", "a note is required"),
    "silence_minutes": ("暂停提醒多少分钟(大厅时间)", "silence for how many minutes (hall time)"),
    "silence_why": ("原因(必填)", "why (required)"),
    "silence_missing": (
        "分钟数须大于0,且须填写原因",
        "minutes must be > 0 and a reason is required",
    ),
    "silenced": ("已暂停提醒", "silenced for"),
    "silence_this_alert": ("仅此一条 #{id}", "this alert only, #{id}"),
    "silence_whole_rule": ("本大厅所有「{rule}」预警({hall})", "every {rule} alert of {hall}"),
    "no_records": ("无记录", "no records"),
    "no_alert_selected": (
        "没有选中的预警：按 a 打开预警列表，或用 Tab 移到下方的预警表",
        "no alert selected: press a for the alerts, or Tab down to the alert list",
    ),
    "no_handover": ("没有待接班确认的报告", "no handover waiting"),
    "accepted": ("已接班", "accepted"),
    "operator": ("操作员", "operator"),
    "no_operator": ("只读 — 按 i 登录", "read-only — press i to sign in"),
    "read_only_banner": ("只读 — 按 i 登录", "read-only — press i to sign in"),
    "sign_in_to_act": ("请先登录再操作(按 i)", "sign in to act (press i)"),
    "key_sign_in": ("登录(操作员)", "sign in (operator)"),
    "key_sign_out": ("退出登录(回到只读)", "sign out (back to read-only)"),
    "f_sign_in": ("登录", "sign in"),
    "sign_in_title": ("操作员登录", "Sign in"),
    "sign_in_person": ("人员(值班表中的编号或姓名)", "person (roster id or name)"),
    "sign_in_password": ("密码,回车登录,Esc取消", "password, Enter to sign in, Esc to cancel"),
    "sign_in_wrong": ("人员或密码不正确", "wrong person or password"),
    "sign_in_wait": ("登录失败次数过多,请稍候", "too many failed sign-ins: try again in"),
    "sign_in_no_passwords": (
        "尚无人设置密码(hallwatch operator add 姓名)",
        "nobody has a password yet (hallwatch operator add NAME)",
    ),
    "no_passwords": (
        "此处无法用密码登录:尚无人设置密码(hallwatch operator add 姓名)",
        "nobody can sign in by password here (hallwatch operator add NAME)",
    ),
    "signed_in_as": ("已登录:", "signed in:"),
    "signed_out": ("已退出登录,只读", "signed out: read-only"),
    "signed_out_idle": ("长时间无操作,已自动退出登录(只读)", "idle: signed out (read-only)"),
    "signed_in_by": ("登录方式", "signed in by"),
    "by_password": ("密码", "password"),
    "by_os_account": ("系统账号", "OS account"),
    "by_demo": ("演示", "demo"),
    "by_given": ("程序指定", "given"),
    "on_duty": ("当前值班主任", "on duty now"),
    "nobody_on_duty": ("排班表中无人", "nobody on the roster"),
    "handovers_waiting": ("待接班确认", "handovers waiting for acceptance"),
    "silences": ("生效中的暂停提醒", "silences in force"),
    "none": ("无", "none"),
    "until": ("至", "until"),
    "duty_keys": (
        "H 写交接班报告   G 接班确认   I 退出登录",
        "H write the handover   G accept the handover   I sign out",
    ),
    "replay": ("回放", "replay"),
    "replay_paused": ("⏸ 已暂停", "⏸ paused"),
    "key_replay_pause": ("回放 暂停/继续", "replay: pause / play"),
    "key_replay_step": ("回放 前进1分钟", "replay: 1 minute on"),
    "key_replay_forward": ("回放 前进15分钟", "replay: 15 minutes on"),
    "key_replay_back": ("回放 后退15分钟", "replay: 15 minutes back"),
    "key_replay_faster": ("回放 加速", "replay: faster"),
    "key_replay_slower": ("回放 减速", "replay: slower"),
    "f_quit": ("退出", "quit"),
    "f_help": ("按键", "keys"),
    "f_next_hall": ("下个大厅", "next hall"),
    "f_filter": ("筛选", "filter"),
    "f_pause": ("冻结画面", "pause view"),
    "f_ack": ("确认", "ack"),
    "f_resolve": ("销号", "resolve"),
    "f_silence": ("暂停提醒", "silence"),
    "f_timeline": ("记录", "timeline"),
    "f_handover": ("交班", "hand over"),
    "f_accept": ("接班", "accept"),
    "f_replay_pause": ("暂停/播放", "play/pause"),
    "f_replay_step": ("+1分", "+1 min"),
    "f_replay_forward": ("+15分", "+15 min"),
    "f_replay_back": ("-15分", "-15 min"),
    "filter_placeholder": (
        "筛选:输入文字,回车确认;Esc 清除筛选",
        "filter: type, Enter to keep; Esc clears it",
    ),
    "sorted_by": ("排序", "sorted by"),
    # The help's sections, the sort menu, the signal, history loading (issue 13, 7-9).
    "group_province": ("全省", "Province"),
    "group_screens": ("画面", "Screens"),
    "group_halls": ("大厅", "Halls"),
    "group_view": ("显示", "Display"),
    "group_general": ("其他", "General"),
    "group_tables": ("表格", "Tables"),
    "group_alerts": ("预警处置", "Acting on an alert"),
    "group_alerts_where": ("预警、待办画面或总览的预警表", "alerts, backlog, overview list"),
    "group_duty": ("值班与登录", "Duty and signing in"),
    "group_replay": ("回放", "Replay"),
    "f_palette": ("命令面板", "palette"),
    "sort_title": ("排序:按列的键", "Sort by: press a column's key"),
    "sort_natural": ("自然顺序", "natural order"),
    "sort_hint": (
        "再选当前列则倒序;Esc 取消",
        "the current column again reverses; Esc cancels",
    ),
    "new_red": ("新红牌", "new red card"),
    "new_complaint": ("新投诉", "new complaint"),
    "loading_history": ("正在载入历史数据", "loading history"),
    # Live first, the backlog apart (alerts.topics; issue 13).
    "live": ("现场", "live"),
    "backlog": ("待办", "backlog"),
    "kind": ("类型", "kind"),
    "live_alerts": ("现场预警", "live alerts"),
    "no_live_alerts": ("现场无预警", "no live alerts"),
    "backlog_hint": ("按 g 查看", "g lists it"),
    "screen_backlog": (
        "待办(办件、差评整改、来回跑、倒号)",
        "backlog (cases, rectification notes, second trips, scalping)",
    ),
    "queued": ("排队", "queue"),
    "urgent_short": ("紧急", "urgent"),
    "notice_short": ("预警", "warn"),
    "silenced_mark": ("暂停提醒", "silenced"),
    "silenced_n": ("暂停提醒", "silenced"),
    "detail_keys": ("回车 全文与记录", "Enter: full text and timeline"),
}


def default_lang() -> Lang:
    """Chinese when the locale says so (LC_ALL, LC_MESSAGES, LANG), English otherwise."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    code = locale.getlocale()[0] or ""
    return "zh" if code.lower().startswith("zh") else "en"


class Words:
    """Labels in one language: ``words["waiting"]`` (a rule's or an alert state's name
    too: ``words["case_deadline"]``, ``words["firing"]``), and the names of the hall's
    things: ``words.hall("county-a")`` is 甲县中心 in Chinese when a name is configured."""

    def __init__(self, lang: Lang, names: Names = NO_NAMES) -> None:
        self.lang: Lang = lang
        self._i = 0 if lang == "zh" else 1
        self.names = names
        """Display names (``View.names``); the app sets the view's as it renders."""

    def __getitem__(self, key: str) -> str:
        pair = _WORDS.get(key) or RULE_NAMES.get(key) or STATE_NAMES.get(key)
        return pair[self._i] if pair else key

    @property
    def _named(self) -> Names:
        return self.names if self.lang == "zh" else NO_NAMES

    def hall(self, hall: str) -> str:
        """A hall as shown: its display name in Chinese, its id in English."""
        return self._named.hall(hall)

    def zone(self, hall: str, zone: str) -> str:
        return self._named.zone(hall, zone)

    def item(self, hall: str, item: str) -> str:
        return self._named.item(hall, item)

    def dept(self, dept: str) -> str:
        return self._named.dept(dept)

    def channel(self, channel: str) -> str:
        """A complaint's or rating's channel (``hotline`` → 热线 in Chinese)."""
        return _CHANNELS_ZH.get(channel, channel) if self.lang == "zh" else channel

    def alert(self, a: AlertView) -> str:
        """An alert's summary as shown (``summary``, with the names of its hall's things)."""
        return summary(a.summary, self.lang, self._named, a.hall)


def pad(text: str, cells: int) -> str:
    """``text`` padded with spaces to ``cells`` terminal cells (a Chinese character takes
    two: ``f"{name:<12}"`` would count it as one)."""
    return text + " " * max(0, cells - cell_len(text))


def duration(seconds: float | None) -> str:
    """``4:05`` under an hour, ``1h05`` from an hour, ``3d04h`` from a day, ``–`` for no
    value (an age of 121 hours reads as five days, not as ``121h44``)."""
    if seconds is None:
        return "–"
    s = max(0, int(seconds))
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def clock(ts_ms: int) -> str:
    """Hall-local wall time of a hall timestamp, ``HH:MM:SS``; ``--:--:--`` before any."""
    if ts_ms <= 0:
        return "--:--:--"
    return local_datetime(ts_ms).strftime("%H:%M:%S")


def when(ts_ms: int, today_ms: int) -> str:
    """A hall timestamp as a duty director reads it beside the hall clock ``today_ms``:
    ``14:36:58`` on the same service day, ``11-30 14:36`` on another (a card of last
    week must not read as this morning's)."""
    if ts_ms <= 0:
        return "--:--:--"
    if today_ms > 0 and service_day(ts_ms) != service_day(today_ms):
        return local_datetime(ts_ms).strftime("%m-%d %H:%M")
    return clock(ts_ms)


def stamp(ts_ms: int) -> str:
    """A hall timestamp with its date, ``11-30 14:36:58``: for histories that span days
    (an alert's timeline: fired, escalated at night, acknowledged next morning)."""
    if ts_ms <= 0:
        return "--:--:--"
    return local_datetime(ts_ms).strftime("%m-%d %H:%M:%S")


def newest_clock(view: View) -> int:
    """The newest hall clock of a view (0 before any event)."""
    return max((h.now_ms for h in view.city.halls.values()), default=0)


# --- alert summaries in Chinese --------------------------------------------------------
# The rules write their summaries in English (the store and the audit trail keep them as
# written). The console phrases the known forms in Chinese; an unknown form is shown as
# written, so a new rule is never hidden, only untranslated.
_ZH_SUMMARIES: Final = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (r"^ticket (?P<t>\S+) \((?P<z>[^)]+)\) waiting over (?P<n>\d+) min$",
         "{t}号({z})等候超过{n}分钟"),
        (r"^complaint (?P<c>\S+) via (?P<ch>\w+)(?: at window (?P<w>\S+))?$",
         "投诉 {c}(渠道 {ch}{w})"),
        (r"^complaint (?P<c>\S+) not settled the same day(?:.*: due (?P<due>.+)$)?.*$",
         "投诉 {c} 当日未办结(当日事当日毕){due}"),
        (r"^case (?P<c>\S+) \((?P<i>[^,]+), (?P<d>[^,]+), (?:promised )?(?P<n>\d+) working "
         r"days\) due (?:end of )?(?P<when>[\d:-]+(?: [\d:]+)?)(?P<rest>.*)$",
         "办件 {c}({i},{d},承诺时限{n}个工作日)将于 {when} 到期{rest}"),
        (r"^case (?P<c>\S+) \((?P<i>[^,]+), (?P<d>[^,]+), (?:promised )?(?P<n>\d+) working "
         r"days\) overdue since (?:end of )?(?P<when>[\d:-]+(?: [\d:]+)?)(?P<rest>.*)$",
         "办件 {c}({i},{d},承诺时限{n}个工作日)已于 {when} 超时{rest}"),
        (r"^case (?P<c>\S+) \((?P<i>[^,]+), (?P<d>[^,]+), legal (?P<n>\d+) working days\) "
         r"past its legal limit since (?:end of )?(?P<when>[\d:-]+(?: [\d:]+)?) "
         r"\(promised (?P<pn>\d+)\)(?P<rest>.*)$",
         "办件 {c}({i},{d},法定时限{n}个工作日,承诺{pn}个工作日)已于 {when} 超过法定时限{rest}"),
        (r"^case (?P<c>\S+): back office silent (?P<n>\d+) min after submission at "
         r"(?P<s>[\d:]+), deemed accepted at (?P<a>[\d:]+)$",
         "办件 {c}:后台{n}分钟未作出受理决定({s}推送),{a}起视为同意受理"),
        (r"^case (?P<c>\S+)(?P<id> \([^)]*\))?: special procedure (?P<p>\S+) since "
         r"(?P<s>[\d-]+ [\d:]+), limit (?P<n>\d+) working days, runs out (?:end of )?"
         r"(?P<when>[\d:-]+(?: [\d:]+)?)$",
         "办件 {c}{id}:特别程序 {p} 自 {s} 起,时限{n}个工作日,将于 {when} 到期"),
        (r"^case (?P<c>\S+)(?P<id> \([^)]*\))?: special procedure (?P<p>\S+) since "
         r"(?P<s>[\d-]+ [\d:]+), over its limit of (?P<n>\d+) working days since (?:end of )?"
         r"(?P<when>[\d:-]+(?: [\d:]+)?)$",
         "办件 {c}{id}:特别程序 {p} 自 {s} 起,已超过时限{n}个工作日({when} 到期),恢复计时"),
        (r"^case (?P<c>\S+) \((?P<d>[^)]+)\): (?P<what>materials added|materials changed|"
         r"conditions added)(?:: (?P<m>.*))?$",
         "办件 {c}({d}):{what}{m}(擅自增加或改变申请材料、违规设置办理条件)"),
        (r"^complaint (?P<c>\S+) via (?P<ch>\w+)(?: at window (?P<w>\S+))?: "
         r"(?P<cat>added_materials|added_conditions)$",
         "投诉 {c}(渠道 {ch}{w}):{cat}"),
        (r"^case (?P<c>\S+)(?P<id> \([^)]*\))? paused for (?P<q>['\"])(?P<r>.*)(?P=q), "
         r"not a listed special procedure: its clock runs on$",
         "办件 {c}{id}以“{r}”暂停,不在特别程序清单内:不停止计时"),
        (r"^bad rating (?P<s>\d) at window (?P<w>\S+?)(?:, staff (?P<st>\S+))? via (?P<ch>\w+): "
         r"rectification note due (?P<due>[\d-]+)$",
         "差评 {s} 分,窗口 {w}{st}({ch}),整改说明期限 {due}"),
        (r"^bad rating (?P<s>\d) at window (?P<w>\S+?)(?:, staff (?P<st>\S+))? via (?P<ch>\w+): "
         r"rectification note overdue since (?P<due>[\d-]+)$",
         "差评 {s} 分,窗口 {w}{st}({ch}),整改说明已逾期(期限 {due})"),
        (r"^ticket (?P<t>\S+): second trip for item (?P<i>\S+) \(visit of (?P<day>[\d-]+) "
         r"(?P<o>\w+)\)$",
         "{t}号:事项 {i} 来回跑,未做到最多跑一次({day} 来办,{o})"),
        (r"^ticket (?P<t>\S+) served at window (?P<w>\S+) for another person than its holder"
         r".*$",
         "{t}号在窗口 {w} 为持号人以外的人办理(盗号?)"),
        (r"^one person took (?P<n>\d+) tickets today.*: (?P<ts>.*)$",
         "同一人今日取号{n}张(倒号?):{ts}"),
        (r"^service of (?P<t>\S+) at (?P<w>\S+?)(?: \((?P<i>[^)]+)\))? over (?P<n>\d+) min "
         r"\((?P<f>[\d.]+)x standard\)$",
         "{w} 办理 {t}{i} 超过{n}分钟(标准时长的{f}倍)"),
        (r"^window (?P<w>\S+) paused over (?P<n>\d+) min$", "窗口 {w} 暂停超过{n}分钟"),
        (r"^window (?P<w>\S+) open and idle while people wait.*$",
         "窗口 {w} 开放空闲而有人排队(空岗)"),
        (r"^zone (?P<z>\S+): people waiting, no open window serving it$",
         "板块 {z} 有人排队但无开放窗口"),
        (r"^feed (?P<f>\S+) silent for (?P<n>\d+) s$", "数据源 {f} 已{n}秒无数据"),
        (r"^events arrive (?P<n>\d+) min behind the hall clock: the feed's clock went back"
         r"(?:, or jumped (?P<h>[\d.]+) h ahead at (?P<at>[\d-]+ [\d:]+))?$",
         "事件比大厅时间晚{n}分钟到达:数据源时钟回拨{at}"),
        (r"^shift report of (?P<p>\S+) not accepted \(written (?P<w>[^)]+)\)$",
         "{p} 的交接班报告未确认接班({w} 写)"),
    )
)  # fmt: skip
_CHANGES_ZH: Final = {
    "materials added": "增加申请材料",
    "materials changed": "改变申请材料",
    "conditions added": "设置办理条件",
    "added_materials": "擅自增加申请材料",
    "added_conditions": "违规设置办理条件",
}
_NO_CALENDAR: Final = re.compile(r" \(no holiday calendar for (\d+): Monday to Friday assumed\)")


#: A visit's outcome at the window (protocol ``service_finished.outcome``), in Chinese.
_OUTCOMES_ZH: Final = {
    "done": "办结",
    "to_backend": "转后台审批",
    "incomplete": "材料不全,已一次性告知",
    "rejected": "不予受理",
    "transferred": "转其他窗口",
}
#: Complaint and rating channels (protocol ``complaint.channel``, ``rating.channel``).
_CHANNELS_ZH: Final = {
    "desk": "现场",
    "hotline": "热线",
    "online": "网上",
    "rating": "评价",
    "letter": "来信",
    "device": "评价器",
    "qr": "扫码",
    "sms": "短信",
    "app": "移动端",
}


def summary(text: str, lang: Lang, names: Names = NO_NAMES, hall: str = "") -> str:
    """An alert's summary in ``lang``: Chinese for the known forms, else as written. In
    Chinese, the zones, items and departments it mentions go by ``names`` (those of
    ``hall``), the outcomes and channels by the hall's words."""
    if lang != "zh":
        return text
    for pattern, template in _ZH_SUMMARIES:
        m = pattern.match(text)
        if m is not None:
            parts = {k: (v or "") for k, v in m.groupdict().items()}
            if parts.get("z"):
                parts["z"] = names.zone(hall, parts["z"])
            if parts.get("i"):
                parts["i"] = names.item(hall, parts["i"])
            if parts.get("d"):
                parts["d"] = names.dept(parts["d"])
            if parts.get("o"):
                parts["o"] = _OUTCOMES_ZH.get(parts["o"], parts["o"])
            if parts.get("ch"):
                parts["ch"] = _CHANNELS_ZH.get(parts["ch"], parts["ch"])
            if parts.get("w") and template.startswith("投诉"):
                parts["w"] = f",窗口 {parts['w']}"
            if parts.get("st"):
                parts["st"] = f" 人员 {parts['st']}"
            if parts.get("i") and template.startswith("{w} 办理"):
                parts["i"] = f"({parts['i']})"
            if parts.get("due") and template.startswith("投诉"):
                parts["due"] = f",期限 {parts['due']}"
            if parts.get("at"):
                parts["at"] = f",或曾于 {parts['at']} 向前跳了{parts['h']}小时"
            if "what" in parts:  # materials or conditions added (seed 001)
                parts["what"] = _CHANGES_ZH[parts["what"]]
                parts["m"] = f":{parts['m']}" if parts.get("m") else ""
            if "cat" in parts:
                parts["cat"] = _CHANGES_ZH[parts["cat"]]
            if parts.get("id"):  # " (item, dept)" of a case
                item, _, dept = parts["id"].strip(" ()").partition(", ")
                named = [names.item(hall, item), names.dept(dept)] if dept else [item]
                parts["id"] = "(" + ",".join(named) + ")"
            if parts.get("rest"):
                parts["rest"] = _NO_CALENDAR.sub(r"(无\1年节假日历,按周一至周五计)", parts["rest"])
            return template.format(**parts)
    return text
