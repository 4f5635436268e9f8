import { subscribe } from "../../../types/index.js";
import { useSchemaStream } from "../../../types/react.js";

const s = useSchemaStream("/x");
const n: number = s.status;
subscribe("/x", { onStat() {} });
void n;
