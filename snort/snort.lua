-- Snort 3 -> nftsentry: the alert_json logger with the fields nftsentry reads.
--
-- Add this table to your snort.lua (or a file it includes). Snort then writes one JSON object
-- per alert to alert_json.txt in its log directory (snort -l /var/log/snort), which nftsentry
-- follows, or, with file = false, to stdout (see README "Using with Snort 3").
--
-- Matching nftsentry config (sources.inputs):
--   - type: file
--     name: snort
--     path: /var/log/snort/alert_json.txt
--     format: snort
--     snort_timezone: local     # utc when Snort runs with -U
--
-- Fields: nftsentry needs timestamp, proto, src_ap, dst_ap and rule. seconds gives the year the
-- timestamp leaves out; target says which side attacked (rules with the target: option); msg,
-- class, priority, action and iface are recorded with the ban. Other fields are ignored.
alert_json =
{
    file = true,
    -- Roll alert_json.txt at 100 MB (Snort renames it; nftsentry follows rename rotation).
    limit = 100,
    fields = 'timestamp seconds proto src_ap dst_ap rule action msg class priority target iface',
}
