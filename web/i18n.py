"""Interface labels in Vietnamese, Korean and English, and how a request picks one.

Order of preference: `?ui=` in the URL (remembered in a cookie), the cookie, the browser's
Accept-Language, then English. Document text is never translated, only the interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

UI_LANGS = ("vi", "ko", "en")
UI_NAMES = {"vi": "Tiếng Việt", "ko": "한국어", "en": "English"}
COOKIE = "viko_ui"

# key: (vi, ko, en)
_LABELS: dict[str, tuple[str, str, str]] = {
    "search": ("Tìm kiếm", "검색", "Search"),
    "status": ("Trạng thái", "상태", "Status"),
    "api": ("API", "API", "API"),
    "concordance": ("Tra cứu câu song ngữ", "병렬 용례 검색", "Concordance"),
    "glossary": ("Thuật ngữ", "용어집", "Glossary"),
    "skip": ("Chuyển đến nội dung", "본문으로 건너뛰기", "Skip to content"),
    "interface": ("Ngôn ngữ giao diện", "화면 언어", "Interface language"),
    "query": ("Truy vấn", "검색어", "Query"),
    "placeholder": ("Tiếng Việt hoặc tiếng Hàn, ví dụ: năng lượng tái tạo · 재생에너지 협약",
                    "한국어 또는 베트남어, 예: 재생에너지 협약 · năng lượng tái tạo",
                    "Vietnamese or Korean, e.g. năng lượng tái tạo · 재생에너지 협약"),
    "hint": ("Nhập bằng tiếng Việt hoặc tiếng Hàn: kết quả của cả hai ngôn ngữ được xếp hạng cùng nhau.",
             "한국어나 베트남어로 입력하세요. 두 언어의 결과가 함께 순위가 매겨집니다.",
             "Type in Vietnamese or Korean: results in both languages are ranked together."),
    "results": ("{n} tài liệu", "문서 {n}건", "{n} documents"),
    "query_lang": ("Truy vấn bằng {lang}", "검색어 언어: {lang}", "Query in {lang}"),
    "sort": ("Sắp xếp", "정렬", "Sort"),
    "sort_relevance": ("Liên quan nhất", "관련도순", "Relevance"),
    "sort_date": ("Mới nhất", "최신순", "Newest"),
    "filters": ("Bộ lọc", "필터", "Filters"),
    "clear_filters": ("Bỏ tất cả bộ lọc", "필터 모두 해제", "Clear all filters"),
    "facet_lang": ("Ngôn ngữ", "언어", "Language"),
    "facet_type": ("Loại", "유형", "Type"),
    "facet_source": ("Nguồn", "출처", "Source"),
    "facet_year": ("Năm", "연도", "Year"),
    "remove": ("bỏ", "해제", "remove"),
    "lang_vi": ("Tiếng Việt", "베트남어", "Vietnamese"),
    "lang_ko": ("Tiếng Hàn", "한국어", "Korean"),
    "lang_other": ("Khác", "기타", "Other"),
    "type_agreement": ("Thỏa thuận", "협약", "Agreement"),
    "type_news": ("Tin tức", "뉴스", "News"),
    "type_report": ("Báo cáo", "보고서", "Report"),
    "type_offer": ("Chào bán công nghệ", "기술 공급", "Technology offer"),
    "type_demand": ("Nhu cầu công nghệ", "기술 수요", "Technology demand"),
    "pages": ("Trang kết quả", "결과 페이지", "Result pages"),
    "previous": ("Trang trước", "이전", "Previous"),
    "next": ("Trang sau", "다음", "Next"),
    "page_n": ("Trang {n}", "{n}쪽", "Page {n}"),
    "no_results": ("Không có tài liệu nào khớp với “{q}”.", "“{q}”와(과) 일치하는 문서가 없습니다.",
                   "No documents match “{q}”."),
    "try_terms": ("Có phải bạn muốn tìm:", "이것을 찾으셨나요:", "Did you mean:"),
    "try_broader": ("Bỏ bộ lọc để xem {n} kết quả", "필터를 해제하면 {n}건", "Remove the filters to see {n} results"),
    "try_other": ("Hãy thử ít từ hơn hoặc một từ đồng nghĩa.", "더 적은 단어나 다른 표현으로 검색해 보세요.",
                  "Try fewer words or another way to say it."),
    "past_end": ("Không còn kết quả ở trang này.", "이 쪽에는 결과가 없습니다.", "There are no results on this page."),
    "first_page": ("Về trang đầu", "첫 쪽으로", "Back to the first page"),
    "searched_as": ("Đã tìm là:", "다음으로 검색함:", "Searched as:"),
    "search_as_typed": ("tìm đúng như đã gõ", "입력한 그대로 검색", "search exactly as typed"),
    "searched_exactly": ("Đã tìm đúng như đã gõ.", "입력한 그대로 검색했습니다.", "Searched exactly as typed."),
    "search_restored": ("Tìm là “{q}”", "“{q}”(으)로 검색", "Search as “{q}”"),
    "ellipsis": ("các trang bị lược bớt", "생략된 쪽", "pages left out"),
    "export": ("Tải kết quả", "결과 내려받기", "Download the results"),
    "export_first": ("(tối đa {n} kết quả đầu)", "(처음 {n}건까지)", "(the first {n})"),
    "facet_date": ("Thời gian", "기간", "Date"),
    "date_after": ("Từ ngày", "시작일", "From"),
    "date_before": ("Trước ngày", "종료일(미포함)", "Before"),
    "apply": ("Áp dụng", "적용", "Apply"),
    "clear_dates": ("Bỏ khoảng thời gian", "기간 해제", "Clear the dates"),
    "query_limit": ("Tối đa {n} ký tự: có thể dán cả một đoạn văn.", "최대 {n}자: 문단 전체를 붙여 넣어도 됩니다.",
                    "Up to {n} characters: a whole pasted paragraph works."),
    "syntax_help": ("Cú pháp tìm kiếm", "검색 문법", "Search syntax"),
    "syntax_phrase": ("đúng cụm từ này", "이 구절 그대로", "this exact phrase"),
    "syntax_exclude": ("bỏ tài liệu có từ (hoặc cụm từ) này", "이 단어(구절)가 있는 문서 제외",
                       "leave out documents with this word (or phrase)"),
    "syntax_type": ("loại tài liệu: agreement, news, report, offer, demand", "문서 유형: agreement, news, report, offer, demand",
                    "document type: agreement, news, report, offer, demand"),
    "syntax_lang": ("ngôn ngữ tài liệu: vi, ko", "문서 언어: vi, ko", "document language: vi, ko"),
    "syntax_source": ("nguồn", "출처", "source"),
    "syntax_title": ("từ trong tiêu đề", "제목의 단어", "a word of the title"),
    "syntax_after": ("từ năm, tháng hoặc ngày này trở đi", "이 연도·월·일부터", "from this year, month or day on"),
    "syntax_before": ("trước năm, tháng hoặc ngày này", "이 연도·월·일 이전", "before this year, month or day"),
    "syntax_note": ("Gõ không dấu cũng được; chữ hoa và chữ thường như nhau.",
                    "베트남어는 성조 없이 입력해도 됩니다. 대소문자는 구분하지 않습니다.",
                    "Vietnamese may be typed without diacritics; upper and lower case are the same."),
    "counterpart": ("Bản tương ứng", "대응 문서", "Counterpart"),
    "counterpart_of": ("Cùng tài liệu bằng ngôn ngữ kia", "다른 언어로 된 같은 문서", "The same document in the other language"),
    "side_by_side": ("So sánh từng câu", "문장별로 나란히 보기", "Compare sentence by sentence"),
    "confirmed": ("đã xác nhận", "확인됨", "confirmed"),
    "possible_translation": ("Có thể là bản dịch", "번역일 수 있는 문서", "Possible translation"),
    "possible_hint": ("Chưa chắc là bản dịch: người có quyền có thể xác nhận hoặc bác bỏ.",
                      "번역인지 확실하지 않습니다. 권한이 있는 사람이 확인하거나 거부할 수 있습니다.",
                      "Not known to be a translation: an editor may confirm or reject it."),
    "detected_translation": ("phát hiện tự động", "자동 감지", "detected"),
    "related": ("Tài liệu liên quan", "관련 문서", "Related documents"),
    "source_link": ("Xem bản gốc", "원문 보기", "Original source"),
    "best_passage": ("Đoạn khớp nhất với “{q}” được đánh dấu.", "“{q}”와(과) 가장 잘 맞는 부분이 표시되어 있습니다.",
                     "The passages that best match “{q}” are marked."),
    "jump_best": ("Đến đoạn khớp nhất", "가장 잘 맞는 부분으로", "Jump to the best passage"),
    "back_results": ("Quay lại kết quả", "검색 결과로 돌아가기", "Back to the results"),
    "not_found": ("Không tìm thấy", "찾을 수 없음", "Not found"),
    "error": ("Lỗi", "오류", "Error"),
    "back_search": ("Quay lại tìm kiếm", "검색으로 돌아가기", "Back to search"),
    "documents": ("Tài liệu", "문서", "Documents"),
    "indexed": ("Đã lập chỉ mục", "색인", "Index"),
    "by_lang": ("Theo ngôn ngữ", "언어별", "By language"),
    "by_type": ("Theo loại", "유형별", "By type"),
    "index_line": ("Thế hệ {gen}, tạo lúc {created}, mô hình {model}: {docs} tài liệu, {chunks} đoạn.",
                   "{gen} 세대, {created} 생성, 모델 {model}: 문서 {docs}건, 청크 {chunks}개.",
                   "Generation {gen}, built {created} with {model}: {docs} documents, {chunks} chunks."),
    "pending": ("{n} tài liệu đang chờ lập chỉ mục.", "색인 대기 문서 {n}건.", "{n} documents wait to be indexed."),
    "not_indexed": ("{n} tài liệu đã lưu không được lập chỉ mục vì trùng với tài liệu khác (tìm được qua bản gốc):",
                    "저장된 문서 {n}건은 다른 문서와 중복되어 색인하지 않았습니다(원본으로 검색됩니다):",
                    "{n} stored documents are not indexed because they duplicate other documents (found through those):"),
    "no_index": ("Chưa có chỉ mục: hãy chạy `viko index`.", "색인이 없습니다: `viko index`를 실행하세요.",
                 "No index yet: run `viko index`."),
    "crawls": ("Lần thu thập gần đây", "최근 수집", "Recent crawls"),
    "no_crawls": ("Chưa có lần thu thập nào.", "아직 수집 기록이 없습니다.", "No crawls yet."),
    "outcome": ("Kết quả", "결과", "Outcome"),
    "when": ("Thời điểm", "시각", "When"),
    "count": ("Số lượng", "건수", "Count"),
    "api_intro": ("Mỗi trang cũng có dạng JSON dưới /api/. Đặc tả OpenAPI:", "모든 페이지는 /api/ 아래 JSON으로도 제공됩니다. OpenAPI 명세:",
                  "Every page is also available as JSON under /api/. OpenAPI description:"),
    "updated": ("cập nhật lần cuối", "마지막 갱신", "last changed"),
    "data_dir": ("Thư mục dữ liệu", "데이터 폴더", "Data directory"),
    "chunks": ("Đoạn", "청크", "Chunks"),
    "model": ("Mô hình", "모델", "Model"),
    "date_unknown": ("không rõ ngày", "날짜 미상", "undated"),
    "request_id": ("Mã yêu cầu", "요청 번호", "Request id"),
    "doc_pages": ("Các trang của tài liệu", "문서 쪽", "Pages of the document"),
    "doc_page_of": ("Trang {n}/{total}", "{total}쪽 중 {n}쪽", "Page {n} of {total}"),
    "full_text": ("Toàn văn (văn bản thuần)", "전문 (일반 텍스트)", "Full text (plain text)"),
    # Technology matchmaking (web/matching.py).
    "mm_title": ("Kết nối cung cầu công nghệ", "기술 수요-공급 매칭", "Technology matchmaking"),
    "mm_records": ("Chào bán và nhu cầu", "공급·수요 기술", "Offers and demands"),
    "mm_planner": ("Lập lịch phiên kết nối", "매칭 상담회 일정", "Session planner"),
    "mm_offers_for": ("Công nghệ chào bán đáp ứng nhu cầu này", "이 수요에 맞는 공급 기술", "Offers that answer this demand"),
    "mm_demands_for": ("Nhu cầu mà công nghệ này đáp ứng", "이 기술이 답하는 수요", "Demands this offer answers"),
    "mm_no_matches": ("Chưa có kết quả phù hợp.", "맞는 항목이 없습니다.", "No matches yet."),
    "mm_sector": ("Lĩnh vực", "분야", "Sector"),
    "mm_region": ("Địa phương", "지역", "Region"),
    "mm_organisation": ("Đơn vị", "기관", "Organisation"),
    "mm_title_col": ("Tên", "제목", "Title"),
    "mm_document": ("Toàn văn", "전문 보기", "Full text"),
    "mm_terms": ("Thuật ngữ khớp", "일치 용어", "Matched terms"),
    "mm_passages": ("Đoạn văn khớp ở hai bên", "양쪽에서 일치하는 문단", "Matching passages on both sides"),
    "mm_summary": ("{n} cuộc gặp, tổng điểm {total}; {tables} bàn × {slots} lượt, tối đa {k} cuộc gặp mỗi đơn vị, ngưỡng {floor}",
                   "상담 {n}건, 총점 {total}; 테이블 {tables}개 × {slots}회차, 참가자당 최대 {k}건, 최저 점수 {floor}",
                   "{n} meetings, total score {total}; {tables} tables × {slots} slots, at most {k} meetings per party, floor {floor}"),
    "mm_download": ("Tải về", "내려받기", "Download"),
    "mm_agenda": ("Chương trình", "일정표", "Agenda"),
    "mm_briefs": ("Tóm tắt từng cuộc gặp", "상담별 요약", "Meeting briefs"),
    "mm_slot": ("Lượt", "회차", "Slot"),
    "mm_table": ("Bàn", "테이블", "Table"),
    "mm_score": ("Điểm", "점수", "Score"),
    "mm_locked": ("đã khóa", "고정됨", "locked"),
    "mm_lock": ("Khóa", "고정", "Lock"),
    "mm_unlock": ("Bỏ khóa", "고정 해제", "Unlock"),
    "mm_remove": ("Bỏ cuộc gặp", "상담 제외", "Remove"),
    "mm_replan": ("Lập lại lịch", "다시 배정", "Re-plan"),
    "mm_reset": ("Đặt lại", "초기화", "Reset"),
    "mm_tables": ("Số bàn", "테이블 수", "Tables"),
    "mm_slots": ("Số lượt", "회차 수", "Slots"),
    "mm_per_party": ("Tối đa mỗi đơn vị", "참가자당 최대", "Most per party"),
    "mm_floor": ("Ngưỡng điểm", "최저 점수", "Score floor"),
    "mm_absent": ("Vắng mặt (mã, cách nhau dấu phẩy)", "불참 (ID, 쉼표로 구분)", "Absent (ids, comma-separated)"),
    "mm_token": ("Mã quản trị", "관리자 토큰", "Admin token"),
    "mm_done": ("Đã cập nhật", "반영됨", "Updated"),
    "mm_removed": ("Đã bỏ", "제외됨", "Removed"),
    "mm_readonly": ("Thay đổi lịch cần người vận hành đặt VIKO_ADMIN_TOKEN; lệnh `viko plan-session` luôn dùng được.",
                    "일정 변경은 운영자가 VIKO_ADMIN_TOKEN을 설정해야 가능합니다. `viko plan-session`은 항상 사용할 수 있습니다.",
                    "Changing the plan needs the operator to set VIKO_ADMIN_TOKEN; `viko plan-session` always works."),
    "mm_optimal": ("tối ưu", "최적", "optimal"),
    "mm_no_pairs": ("không cặp nào đạt ngưỡng điểm", "최저 점수를 넘는 쌍이 없음", "no pair reaches the score floor"),
    "mm_time": ("Giờ", "시간", "Time"),
    "mm_start": ("Giờ bắt đầu", "시작 시각", "Session start"),
    "mm_slot_minutes": ("Số phút mỗi lượt", "회차당 시간(분)", "Minutes per slot"),
    "mm_breaks": ("Giải lao (lượt:phút, ví dụ 2:15)", "휴식 (회차:분, 예 2:15)", "Breaks (slot:minutes, e.g. 2:15)"),
    "mm_break": ("Giải lao", "휴식", "Break"),
    "mm_minutes": ("{n} phút", "{n}분", "{n} min"),
    "mm_party_of": ("Cùng một đơn vị, {n} bản ngôn ngữ", "같은 기관, {n}개 언어본", "One party, {n} language versions"),
    "mm_versions": ("Các bản", "언어본", "Versions"),
    # The records import page (web/matching_import.py).
    "mm_import": ("Nhập chào bán và nhu cầu", "공급·수요 목록 가져오기", "Import offers and demands"),
    "mm_import_intro": ("Tải lên bảng đăng ký (CSV, XLSX hoặc JSONL): bản xem trước cho biết cách đọc các cột, "
                        "các bản ghi sẽ được nhập và các dòng bị từ chối; chưa lưu gì cho đến khi bấm Nhập.",
                        "등록 명단(CSV, XLSX 또는 JSONL)을 올리세요. 미리 보기에서 열 해석, 가져올 기록, 거부된 행을 "
                        "보여 주며, 가져오기를 누르기 전에는 아무것도 저장하지 않습니다.",
                        "Upload the registration sheet (CSV, XLSX or JSONL): the preview shows how its columns are "
                        "read, the records it would import and the rows it rejects; nothing is stored until you import."),
    "mm_import_max": ("Tối đa {mb} MB.", "최대 {mb}MB.", "At most {mb} MB."),
    "mm_import_readonly": ("Nhập dữ liệu cần người vận hành đặt VIKO_ADMIN_TOKEN; lệnh `viko import-records` luôn dùng được.",
                           "가져오기는 운영자가 VIKO_ADMIN_TOKEN을 설정해야 가능합니다. `viko import-records`는 항상 "
                           "사용할 수 있습니다.",
                           "Importing needs the operator to set VIKO_ADMIN_TOKEN; `viko import-records` always works."),
    "mm_file": ("Tệp", "파일", "File"),
    "mm_kind": ("Mỗi dòng là", "각 행의 종류", "Every row is"),
    "mm_preview": ("Xem trước", "미리 보기", "Preview"),
    "mm_import_now": ("Nhập {n} bản ghi", "{n}건 가져오기", "Import {n} records"),
    "mm_would_import": ("{n} bản ghi sẽ được nhập ({new} bản ghi mới); số dòng bị từ chối: {bad}.",
                        "{n}건을 가져옵니다(신규 {new}건). 거부된 행 {bad}개.",
                        "{n} records would be imported ({new} new); rows rejected: {bad}."),
    "mm_mapping": ("Cách đọc các cột", "열 해석", "How the columns are read"),
    "mm_header_row": ("Tên cột ở dòng {n}; các dòng phía trên được bỏ qua.", "열 이름은 {n}행에 있으며 그 위의 행은 건너뜁니다.",
                      "Column names on row {n}; the rows above it are skipped."),
    "mm_column": ("Cột trong tệp", "파일의 열", "Column in the file"),
    "mm_field": ("Được dùng làm", "사용 방식", "Read as"),
    "mm_use_extra": ("giữ làm thông tin thêm", "추가 정보로 보관", "kept as extra"),
    "mm_use_ignored": ("bỏ qua", "무시", "ignored"),
    "mm_text_from_columns": ("Không có cột nội dung: nội dung mỗi bản ghi là tên và các cột khác dạng “Nhãn: giá trị”.",
                             "내용 열이 없습니다. 각 기록의 본문은 제목과 나머지 열을 “항목: 값” 줄로 만듭니다.",
                             "No text column: each record's text is its title and the other columns as “Label: value” lines."),
    "mm_first_rows": ("{n} bản ghi đầu tiên", "처음 {n}건", "The first {n} records"),
    "mm_row": ("Dòng", "행", "Row"),
    "mm_new": ("mới", "신규", "new"),
    "mm_exists": ("đã có: cập nhật nếu thay đổi", "이미 있음: 바뀌었으면 갱신", "stored already: updated if changed"),
    "mm_rejected": ("Dòng bị từ chối", "거부된 행", "Rejected rows"),
    "mm_reason": ("Lý do", "사유", "Reason"),
    "mm_imported": ("Đã nhập: {added} thêm mới, {updated} cập nhật, {unchanged} không đổi, {bad} dòng bỏ qua.",
                    "가져옴: 추가 {added}, 갱신 {updated}, 변경 없음 {unchanged}, 건너뜀 {bad}.",
                    "Imported: {added} added, {updated} updated, {unchanged} unchanged, {bad} skipped."),
    "mm_index_next": ("Các bản ghi có mặt trong kết nối sau lần lập chỉ mục tới (`viko index`).",
                      "다음 색인(`viko index`) 후 매칭에 나타납니다.",
                      "The records join the matching after the next index (`viko index`)."),
    "field_id": ("mã", "ID", "id"),
    "field_title": ("tên", "제목", "title"),
    "field_text": ("nội dung", "내용", "text"),
    "field_lang": ("ngôn ngữ", "언어", "language"),
    "field_url": ("liên kết", "링크", "link"),
    "field_date": ("ngày", "날짜", "date"),
    "field_source": ("nguồn", "출처", "source"),
    "field_organisation": ("đơn vị", "기관", "organisation"),
    "field_sector": ("lĩnh vực", "분야", "sector"),
    "field_region": ("địa phương", "지역", "region"),
    "field_contact": ("liên hệ", "연락처", "contact"),
    "field_group": ("nhóm (cùng một đơn vị)", "그룹(같은 기관)", "group (one organisation)"),
    "sector_energy": ("Năng lượng", "에너지", "Energy"),
    "sector_agriculture": ("Nông nghiệp", "농업", "Agriculture"),
    "sector_aquaculture": ("Thủy sản", "수산양식", "Aquaculture"),
    "sector_port_logistics": ("Cảng biển và logistics", "항만·물류", "Ports and logistics"),
    "sector_environment": ("Môi trường", "환경", "Environment"),
    "sector_semiconductors_training": ("Bán dẫn và đào tạo", "반도체·인력양성", "Semiconductors and training"),
    "sector_manufacturing": ("Sản xuất thông minh", "스마트 제조", "Smart manufacturing"),
    "sector_ict": ("Công nghệ thông tin", "정보통신", "ICT"),
}


def labels_for(lang: str) -> dict[str, str]:
    column = UI_LANGS.index(lang) if lang in UI_LANGS else 2
    return {key: values[column] for key, values in _LABELS.items()}


def translator(lang: str) -> Callable[..., str]:
    """t("results", n=3) -> "3 documents"; an unknown key shows itself (never breaks a page)."""
    table = labels_for(lang)

    def t(key: str, **values: object) -> str:
        text = table.get(key, key)
        return text.format(**values) if values else text

    return t


def from_accept_language(header: str) -> str | None:
    """The first of vi/ko/en in the browser's list, by quality value."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in UI_LANGS and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else None


def negotiate(query_params: Mapping[str, str], cookies: Mapping[str, str], accept_language: str) -> str:
    for candidate in (query_params.get("ui"), cookies.get(COOKIE)):
        if candidate in UI_LANGS:
            return str(candidate)
    return from_accept_language(accept_language) or "en"
