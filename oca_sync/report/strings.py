"""The report's own words, per language (spec texts come from the spec in the same language)."""

from __future__ import annotations

EN = {
    "report": "Final report", "event_report": "Event report", "contents": "Contents", "times_in": "times in",
    "anonymised": "names replaced by pseudonyms", "s_glance": "Programme at a glance",
    "s_sessions": "Sessions delivered", "s_attendance": "Attendance", "s_completion": "Completion",
    "s_surveys": "Pre/post survey results", "s_campaigns": "Online campaigns", "s_materials": "Materials",
    "s_recommendations": "Recommendations", "s_sources": "Data sources",
    "g_organisations": "organisations", "g_members": "participants", "g_sessions": "sessions held / planned",
    "g_attendance": "average attendance", "g_completed": "completed the programme",
    "g_surveys": "pre / post survey respondents", "g_reach": "campaign reach", "g_recordings": "recordings archived",
    "kind_training": "Training", "kind_mentoring": "Mentoring", "kind_event": "Events",
    "sessions_intro": "Participants are members of the organisations present according to the attendance record; times in",
    "date": "Date", "title": "Title", "host": "Host", "participants": "Participants", "recording": "Recording",
    "not_taken": "not recorded", "attendance_intro": "Share of the organisations' members present (present or late) "
    "in each session whose attendance was recorded.",
    "chart_attendance": "Attendance per session", "chart_heatmap": "Attendance by organisation and session",
    "per_person": "Per person", "person": "Person", "organisation": "Organisation", "rate": "Rate",
    "completion_rules": "Rules for", "attend_at_least": "attend at least", "submit": "submit", "of": "of",
    "completed_members": "participants completed the course.", "complete": "Complete", "yes": "yes", "no": "no",
    "completion_note": "Evaluated on the collected attendance and survey submissions with the spec's rules.",
    "moodle": "Moodle", "completed_in_moodle": "participants completed the course in Moodle (its completion criteria).",
    "by_rules": "By the spec's rules on the collected data:",
    "agree": "Moodle's record and the rules agree for every participant.",
    "differ": "Moodle's record and the rules differ for",
    "differ_why": "Moodle counts a Late or Excused session as part of one in the attendance grade, grades over "
                  "the sessions taken so far, and marks course completion in its next cron run; attendance "
                  "becomes one of its criteria only once every register is taken and the spec applied again.",
    "no_rules": "The specification states no completion rules.",
    "respondents": "respondents", "paired": "answered both", "anonymous_responses": "anonymous responses",
    "survey_intro": "Distributions show the share of respondents per answer before and after. Changes per person "
    "compare the answers of people who answered both surveys (after minus before).",
    "test_rule": "A Wilcoxon signed-rank test is run when at least {n} people changed their answer; with fewer, "
    "no test can show a difference at the 5% level.",
    "before": "Before", "after": "After", "median": "median", "mean": "Mean", "test": "Test",
    "change_per_person": "Change per person", "everybody": "Everybody", "per_cso": "Per organisation (before → after)",
    "no_surveys": "No pre or post survey in the specification.",
    "campaigns_intro": "Totals from weekly check-ins and metrics files, against the targets in the specification.",
    "superseded": "{n} check-in numbers were replaced by the same figures from a metrics file.",
    "unattributed": "{n} check-in numbers came from people of no organisation with a campaign and are not counted.",
    "undated": "{n} check-ins have no valid week (the date answer, YYYY-MM-DD) and are not counted.",
    "aim": "Aim", "aim_horizontal": "horizontal social cohesion", "aim_vertical": "vertical social cohesion",
    "pct_of_target": "% of target", "all_courses": "All courses together", "free_text": "Answers as written",
    "chart_campaigns": "Share of each target reached", "chart_campaign_weeks": "{metric}: running share of the target per week", "metric": "Metric", "target": "Target", "achieved": "Achieved", "checkin_notes": "Best posts and notes",
    "no_campaigns": "No campaign in the specification.",
    "metric_posts": "Posts", "metric_reach": "Reach", "metric_engagements": "Engagements",
    "metric_followers_gained": "Followers gained", "metric_offline_actions": "Offline actions",
    "session": "Session", "link": "Link", "not_archived": "not archived yet",
    "no_recommendations": "No recommendations file is named in the specification (report.recommendations).",
    "collected_at": "Data collected", "built_at": "report built", "source": "Source", "detail": "Detail",
    "calls": "Calls", "rows": "Rows", "read_at": "Read at",
    "definitions": "Attended: a status with a grade above 0 other than Excused. Completion: the course's rules "
    "applied to this data. Survey answers: the last submission of each person counts.",
    "files_beside": "CSV files beside this report: attendance.csv, completion.csv, surveys.csv, "
    "surveys-codebook.csv, campaigns.csv, recordings.csv.",
}

RU = {
    "report": "Итоговый отчёт", "event_report": "Отчёт о мероприятии", "contents": "Содержание",
    "times_in": "время:", "anonymised": "имена заменены псевдонимами", "s_glance": "Программа в цифрах",
    "s_sessions": "Проведённые сессии", "s_attendance": "Посещаемость", "s_completion": "Завершение",
    "s_surveys": "Входная и итоговая анкеты", "s_campaigns": "Онлайн-кампании", "s_materials": "Материалы",
    "s_recommendations": "Рекомендации", "s_sources": "Источники данных",
    "g_organisations": "организаций", "g_members": "участников", "g_sessions": "сессий проведено / запланировано",
    "g_attendance": "средняя посещаемость", "g_completed": "завершили программу",
    "g_surveys": "ответов на входную / итоговую анкету", "g_reach": "охват кампаний",
    "g_recordings": "записей в архиве",
    "kind_training": "Тренинги", "kind_mentoring": "Менторство", "kind_event": "Мероприятия",
    "sessions_intro": "Участники — члены организаций, присутствовавшие по журналу посещаемости; время:",
    "date": "Дата", "title": "Тема", "host": "Ведущий", "participants": "Участники", "recording": "Запись",
    "not_taken": "не отмечено", "attendance_intro": "Доля членов организаций, присутствовавших (вовремя или с "
    "опозданием) на каждой сессии, где отмечалась посещаемость.",
    "chart_attendance": "Посещаемость по сессиям", "chart_heatmap": "Посещаемость по организациям и сессиям",
    "per_person": "По участникам", "person": "Участник", "organisation": "Организация", "rate": "Доля",
    "completion_rules": "Условия для", "attend_at_least": "посетить не менее", "submit": "заполнить", "of": "из",
    "completed_members": "участников завершили курс.", "complete": "Завершил", "yes": "да", "no": "нет",
    "completion_note": "Рассчитано по собранным данным о посещаемости и анкетах по правилам спецификации.",
    "moodle": "Moodle", "completed_in_moodle": "участников завершили курс в Moodle (по его критериям завершения).",
    "by_rules": "По правилам спецификации на собранных данных:",
    "agree": "Данные Moodle и правила совпадают для всех участников.",
    "differ": "Данные Moodle и правила расходятся для",
    "differ_why": "Moodle засчитывает опоздание или уважительную причину частично в оценке посещаемости, считает "
                  "оценку по уже отмеченным сессиям и отмечает завершение курса при следующем запуске cron; "
                  "посещаемость становится его критерием только когда отмечены все сессии и спецификация "
                  "применена снова.",
    "no_rules": "В спецификации нет условий завершения.",
    "respondents": "ответов", "paired": "ответили на обе", "anonymous_responses": "анонимных ответов",
    "survey_intro": "Распределения показывают долю ответивших по каждому варианту до и после. Изменение по "
    "участникам сравнивает ответы тех, кто заполнил обе анкеты (после минус до).",
    "test_rule": "Критерий Уилкоксона применяется, если ответ изменили не менее {n} человек; при меньшем числе "
    "никакой критерий не покажет различие на уровне 5%.",
    "before": "До", "after": "После", "median": "медиана", "mean": "Среднее", "test": "Критерий",
    "change_per_person": "Изменение на участника", "everybody": "Все", "per_cso": "По организациям (до → после)",
    "no_surveys": "В спецификации нет входной и итоговой анкеты.",
    "campaigns_intro": "Итоги по еженедельным отчётам и файлам метрик в сравнении с целями из спецификации.",
    "superseded": "{n} значений из еженедельных отчётов заменены теми же показателями из файла метрик.",
    "unattributed": "{n} значений пришли от людей вне организаций с кампанией и не учтены.",
    "undated": "{n} еженедельных отчётов без корректной недели (дата, ГГГГ-ММ-ДД) не учтены.",
    "aim": "Цель", "aim_horizontal": "горизонтальная социальная сплочённость",
    "aim_vertical": "вертикальная социальная сплочённость",
    "pct_of_target": "% от цели", "all_courses": "Все курсы вместе", "free_text": "Ответы как есть",
    "chart_campaigns": "Доля каждой цели, достигнутая кампанией",
    "chart_campaign_weeks": "{metric}: доля цели нарастающим итогом по неделям", "metric": "Показатель", "target": "Цель", "achieved": "Достигнуто", "checkin_notes": "Лучшие посты и заметки",
    "no_campaigns": "В спецификации нет кампаний.",
    "metric_posts": "Посты", "metric_reach": "Охват", "metric_engagements": "Вовлечённость",
    "metric_followers_gained": "Новые подписчики", "metric_offline_actions": "Офлайн-действия",
    "session": "Сессия", "link": "Ссылка", "not_archived": "ещё не в архиве",
    "no_recommendations": "В спецификации не указан файл рекомендаций (report.recommendations).",
    "collected_at": "Данные собраны", "built_at": "отчёт создан", "source": "Источник", "detail": "Подробности",
    "calls": "Запросы", "rows": "Строки", "read_at": "Прочитано",
    "definitions": "Присутствовал: статус с оценкой выше 0, кроме «Уважительная причина». Завершение: правила "
    "курса, применённые к этим данным. Анкеты: учитывается последний ответ каждого участника.",
    "files_beside": "CSV-файлы рядом с отчётом: attendance.csv, completion.csv, surveys.csv, "
    "surveys-codebook.csv, campaigns.csv, recordings.csv.",
}

STRINGS: dict[str, dict[str, str]] = {"en": EN, "ru": RU}
