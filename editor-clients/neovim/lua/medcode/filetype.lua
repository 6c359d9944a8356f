-- X12 filetype detection: by extension for the usual claim-file names, by content for
-- everything else. Content is what counts (as in the server): an interchange starts with
-- "ISA" right after an optional BOM and whitespace, followed by its element separator
-- (any character that is not a letter, digit or space); a fragment without envelope
-- starts with a GS or ST segment and contains "ST*837".

local M = {}

local BOM = "\239\187\191" -- UTF-8 byte order mark (Neovim usually strips it on read)
local HEAD_LINES = 20 -- lines read for a content check (X12 is often one long line)
local HEAD_BYTES = 4096 -- characters of them looked at, so a huge one-line file stays cheap

--- True if the given first lines of a file look like X12.
--- @param lines string[]
--- @return boolean
function M.looks_like_x12(lines)
  local head, size = {}, 0
  for _, line in ipairs(lines) do
    line = line:sub(1, HEAD_BYTES - size)
    head[#head + 1] = line
    size = size + #line + 1
    if size >= HEAD_BYTES then
      break
    end
  end
  local text = table.concat(head, "\n")
  if text:sub(1, 3) == BOM then
    text = text:sub(4)
  end
  text = text:gsub("^%s+", "")
  if text:match("^ISA[^%w%s]") then
    return true
  end
  -- A GS/ST fragment of an 837 (no ISA envelope), as the server accepts it.
  return (text:match("^GS%*") or text:match("^ST%*")) ~= nil and text:find("ST*837", 1, true) ~= nil
end

--- True if the loaded buffer looks like X12 (reads at most its first lines).
--- @param bufnr integer|nil
--- @return boolean
function M.buf_is_x12(bufnr)
  if not bufnr or not vim.api.nvim_buf_is_loaded(bufnr) then
    return false
  end
  local ok, lines = pcall(vim.api.nvim_buf_get_lines, bufnr, 0, HEAD_LINES, false)
  return ok and M.looks_like_x12(lines)
end

local function by_content(_, bufnr)
  if M.buf_is_x12(bufnr) then
    return "x12"
  end
  -- nil: let Neovim's own rules decide (text, krl, ...)
end

local registered = false

--- Register the rules with vim.filetype (idempotent; called from ftdetect/ and setup()).
function M.register()
  if registered or not (vim.filetype and vim.filetype.add) then
    return
  end
  registered = true
  local extension = {}
  for _, ext in ipairs({ "x12", "edi", "837", "837p", "837i", "837d" }) do
    extension[ext] = "x12"
    extension[ext:upper()] = "x12"
  end
  vim.filetype.add({
    extension = extension,
    pattern = {
      -- Claims saved as .txt / .dat: checked by content before the extension rules
      -- (text, krl...), which still apply when the content is not X12.
      [".*%.[tT][xX][tT]"] = { by_content, { priority = 10 } },
      [".*%.[dD][aA][tT]"] = { by_content, { priority = 10 } },
      -- Any other file that no rule recognised (no extension, .out, .in, ...).
      [".*"] = { by_content, { priority = -math.huge } },
    },
  })
end

return M
