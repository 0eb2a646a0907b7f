"""Demo departments of Huaining county (行政区划代码 340822) and their people."""
from __future__ import annotations

DEMO_PASSWORD = "govflow-demo-2026"

# (code, name, kind, login prefix)
DEPARTMENTS = [
    ("340822001", "县数据资源管理局", "authority", "shuju"),
    ("340822002", "县人民政府", "county_government", "xianzhengfu"),
    ("340822003", "县纪委监委", "discipline", "jiwei"),
    ("340822101", "县公安局", "county_department", "gongan"),
    ("340822102", "县市场监督管理局", "county_department", "shichang"),
    ("340822103", "县民政局", "county_department", "minzheng"),
    ("340822104", "县人力资源和社会保障局", "county_department", "renshe"),
    ("340822105", "县医疗保障局", "county_department", "yibao"),
    ("340822106", "县卫生健康委员会", "county_department", "weijian"),
    ("340822107", "县自然资源和规划局", "county_department", "ziran"),
    ("340822108", "县统计局", "county_department", "tongji"),
    ("340822109", "县教育体育局", "county_department", "jiaoyu"),
    ("340822110", "县财政局", "county_department", "caizheng"),
    ("340822111", "县住房和城乡建设局", "county_department", "zhujian"),
    ("340822112", "县交通运输局", "county_department", "jiaotong"),
    ("340822113", "县农业农村局", "county_department", "nongye"),
    ("340822114", "县水利局", "county_department", "shuili"),
    ("340822115", "县应急管理局", "county_department", "yingji"),
    ("340822116", "县司法局", "county_department", "sifa"),
    ("340822117", "县退役军人事务局", "county_department", "tuiyi"),
    ("340822118", "县文化旅游局", "county_department", "wenlv"),
    ("340822119", "县发展和改革委员会", "county_department", "fagai"),
    ("340822120", "县生态环境分局", "county_department", "shengtai"),
    ("340822121", "国家税务总局怀宁县税务局", "county_department", "shuiwu"),
    ("340822201", "高河镇人民政府", "township", "gaohe"),
    ("340822202", "石牌镇人民政府", "township", "shipai"),
    ("340822203", "月山镇人民政府", "township", "yueshan"),
    ("340822204", "洪铺镇人民政府", "township", "hongpu"),
    ("340822301", "国网怀宁县供电公司", "public_service", "gongdian"),
    ("340822302", "怀宁县自来水公司", "public_service", "shuiwu-gs"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = ["建国", "晓梅", "志强", "丽华", "海涛", "文静", "国栋", "春燕", "明辉", "雪芳"]

# (login, display name, department code, roles)
SYSTEM_ACCOUNTS = [
    ("admin", "系统管理员", "340822001", {"admin"}),
    ("analyst", "流程分析员 周敏", "340822001", {"analyst"}),
    ("supervisor", "督办科 钱立新", "340822001", {"authority"}),
    ("county", "县政府办 孙启明", "340822002", {"county_gov"}),
    ("discipline", "纪委监委 吴正清", "340822003", {"discipline"}),
]


def department_people() -> list[tuple[str, str, str, set[str]]]:
    """A clerk (provides and consumes data) and a head (数长, art. 5) for every department."""
    people = []
    for i, (code, name, kind, slug) in enumerate(DEPARTMENTS):
        if kind in {"authority", "county_government", "discipline"}:
            people.append((f"{slug}.head", _name(i, 0), code, {"dept_head"}))
            continue
        people.append((f"{slug}.clerk", _name(i, 1), code, {"provider_clerk", "consumer_clerk"}))
        people.append((f"{slug}.head", _name(i, 0), code, {"dept_head"}))
    return people


def _name(i: int, j: int) -> str:
    return SURNAMES[(i * 3 + j) % len(SURNAMES)] + GIVEN[(i + j * 7) % len(GIVEN)]
