"""Narratives for the generated returns (form v2): achievements, challenges and success stories as station
clerks write them, in Urdu or English, drawn from the unit's own figures of the month.

Provinces whose files are not Unicode (Balochistan's Windows-1252 CSV) write English only. About one success
story in twenty carries a complainant's CNIC or phone number, as real ones sometimes do: the intake warns (W310).
"""
from __future__ import annotations

import numpy as np

from cop.spec import Amendment, Form

CHANCE = {"achievement": 0.3, "challenge": 0.2, "success_story": 0.06}
STORY_PERSONAL_DATA_CHANCE = 0.05

ACHIEVEMENTS = {
    "en": [
        "{disputes_resolved} disputes settled through the dispute resolution council without an FIR.",
        "Held {community_meetings_held} community meetings; {community_meeting_attendance} residents attended.",
        "Recovered {stolen_vehicles_recovered} stolen vehicles and returned them to their owners.",
        "Khuli kutcheri with the SDPO: {complaints_resolved} public complaints resolved on the spot.",
        "Islahi committee met {islahi_committee_meetings} times; two old land disputes closed.",
        "School safety week: {youth_and_school_events} school visits, road-crossing drills for the children.",
    ],
    "ur": [
        "مصالحتی کونسل کے ذریعے {disputes_resolved} تنازعات ایف آئی آر کے بغیر حل کیے گئے۔",
        "{community_meetings_held} کمیونٹی میٹنگز منعقد ہوئیں جن میں {community_meeting_attendance} شہریوں نے شرکت کی۔",
        "{stolen_vehicles_recovered} چوری شدہ گاڑیاں برآمد کر کے مالکان کے حوالے کی گئیں۔",
        "کھلی کچہری میں {complaints_resolved} عوامی شکایات موقع پر حل کی گئیں۔",
        "اصلاحی کمیٹی کے {islahi_committee_meetings} اجلاس ہوئے، زمین کے دو پرانے تنازعات ختم ہوئے۔",
    ],
}
CHALLENGES = {
    "en": [
        "Only {patrol_vehicles_operational} patrol vehicles working; night patrols in the outer villages cut short.",
        "Mobile snatching up near the bus stand ({mobile_snatching} FIRs); CCTV there is out of order.",
        "Officers drawn away for election and VIP duty; community meetings postponed.",
        "Flooding closed the link roads for two weeks; open court could not be held.",
        "COP funds arrived late in the month; the awareness campaign was delayed.",
    ],
    "ur": [
        "صرف {patrol_vehicles_operational} گشتی گاڑیاں فعال ہیں، دور دراز دیہات میں رات کا گشت متاثر ہوا۔",
        "بس اڈے کے قریب موبائل چھیننے کی وارداتیں بڑھیں ({mobile_snatching} ایف آئی آر)، وہاں کیمرے خراب ہیں۔",
        "انتخابی اور وی آئی پی ڈیوٹی کی وجہ سے کمیونٹی میٹنگز ملتوی کرنا پڑیں۔",
        "سیلاب کی وجہ سے رابطہ سڑکیں دو ہفتے بند رہیں، کھلی کچہری منعقد نہ ہو سکی۔",
    ],
}
STORIES = {
    "en": [
        "A widow's motorcycle, her son's only way to reach his work, was stolen outside the mosque. The "
        "neighbourhood watch group shared the number on its WhatsApp group; a member spotted it at a repair "
        "shop the next morning and the beat officer returned it the same day. The family now volunteers "
        "with the watch group.",
        "Two families had been in a water-channel dispute for eleven years, with three FIRs between them. The "
        "Islahi committee, with the imam and the SHO, brought both sides to the table over four meetings; "
        "they signed a written settlement and shared the repair cost of the channel.",
        "After the youth cricket league organised with the school, boys who used to gather at the drug "
        "corner now train three evenings a week. Two of them reported a dealer, who was arrested.",
    ],
    "ur": [
        "ایک بیوہ کی موٹر سائیکل مسجد کے باہر سے چوری ہو گئی۔ ٹھیکری پہرہ گروپ نے نمبر واٹس ایپ پر شیئر کیا، "
        "اگلی صبح ایک رکن نے اسے ورکشاپ پر دیکھ لیا اور بیٹ افسر نے اسی دن واپس کر دی۔",
        "دو خاندانوں کے درمیان گیارہ سال سے پانی کے کھال کا تنازعہ تھا۔ اصلاحی کمیٹی نے امام مسجد اور ایس "
        "ایچ او کے ساتھ چار نشستوں میں صلح کروائی اور دونوں فریقوں نے تحریری معاہدہ کیا۔",
        "سکول کے ساتھ نوجوانوں کی کرکٹ لیگ کے بعد منشیات کے اڈے پر بیٹھنے والے لڑکے اب ہفتے میں تین شام "
        "کھیلتے ہیں۔ ان میں سے دو نے ایک منشیات فروش کی اطلاع دی جو گرفتار ہوا۔",
    ],
}
BANKS = {"achievement": ACHIEVEMENTS, "challenge": CHALLENGES, "success_story": STORIES}
PERSONAL_DATA = {"en": " The complainant (CNIC 35202-1234567-1, 0300-1234567) thanked the station.",
                 "ur": " مدعی (شناختی کارڈ 35202-1234567-1) نے تھانے کا شکریہ ادا کیا۔"}


def languages(amendment: Amendment) -> tuple[str, ...]:
    """English everywhere; Urdu too where the province's file is Unicode."""
    unicode_file = amendment.file.format == "xlsx" or amendment.file.encoding.lower().startswith("utf")
    return ("en", "ur") if unicode_file else ("en",)


def sample_narratives(rng: np.random.Generator, form: Form, amendment: Amendment,
                      values: dict) -> dict[str, str]:
    """The narratives of one unit-month under `form` (none before the version that has them)."""
    texts = {}
    for narrative in form.narratives:
        if narrative.name in amendment.omit or rng.random() >= CHANCE.get(narrative.name, 0):
            continue
        language = str(rng.choice(languages(amendment)))
        bank = BANKS[narrative.name][language]
        figures = _Figures(values)
        text = bank[int(rng.integers(len(bank)))].format_map(figures)
        if figures.zero_used and narrative.name == "achievement":
            continue  # nobody boasts of recovering 0 vehicles
        if narrative.name == "success_story" and rng.random() < STORY_PERSONAL_DATA_CHANCE:
            text += PERSONAL_DATA[language]
        texts[narrative.name] = text[:narrative.max_length]
    return texts


class _Figures(dict):
    """The unit's figures for str.format_map; a figure the unit did not give reads as 'several'."""

    zero_used = False

    def __missing__(self, key: str) -> str:
        return "several"

    def __getitem__(self, key: str):
        value = dict.get(self, key)
        self.zero_used = self.zero_used or value == 0
        return "several" if value is None else value
